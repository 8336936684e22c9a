"""Multi-round conversational recommendation on LastFM* (BENCHMARKS.md section 1).

Runs every policy (the graph policy and the baselines) on the same seeded test pairs, in one
process, and prints ONE JSON object. The pairs are the authors' draw: all test (user, item)
pairs in file order, shuffled by ``np.random.RandomState(1)`` (their environments call
``set_random_seed(1)`` then ``np.random.shuffle``), the first 4,000 (``--pairs 4000``) or all
11,892 (``--pairs all``). Needs TASTEBUD_MIRROR (or network) to import the catalog once.

    python benchmarks/cpr_lastfm_star.py --pairs 4000 [--noise 0.1] [--plot out.png]
    python benchmarks/cpr_lastfm_star.py --tune     # refit the knobs on the valid split

``--tune`` fits the belief weights (conditional logit) and grids temperature x confidence on
valid conversations, and prints the values to put in HybridConfig / GraphPolicyConfig.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

PUBLISHED = {  # UNICORN (SIGIR 2021) Table 3, LastFM*
    "SCPR": {"SR@15": 0.709, "AT": 8.43, "hDCG": 0.239},
    "UNICORN": {"SR@15": 0.788, "AT": 7.58, "hDCG": 0.259},
}
POLICIES = ["graph", "recommend_only", "max_entropy", "random_ask", "authors_env"]
KEYS = ["SR@5", "SR@10", "SR@15", "AT", "hDCG", "episodes_per_s", "seconds",
        "AT_counting_opening"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", default="4000", help="number of seeded test pairs, or 'all'")
    ap.add_argument("--noise", type=float, default=0.0, help="answer flip probability")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--policies", default=",".join(POLICIES))
    ap.add_argument("--ablations", action="store_true",
                    help="also run the graph policy without the statement prior and with "
                         "content-only scores")
    ap.add_argument("--plot", type=Path, help="write the SR-by-turn PNG here")
    ap.add_argument("--tune", action="store_true", help="tune the knobs on valid and exit")
    ap.add_argument("--tune-noise-prior", action="store_true",
                    help="choose the noise estimate's prior on valid (SR@15 over eps 0, 0.1, "
                         "0.2) and exit")
    ap.add_argument("--policy-noise", "--assumed-noise", dest="assumed_noise", default="auto",
                    help="what the graph policy is told of the flip rate: unknown or auto "
                         "(nothing: it estimates the rate from the answers), oracle (the "
                         "simulator's true --noise, which no deployment has) or a number")
    ap.add_argument("--noise-oracle", action="store_true",
                    help="also run the graph policy told the true rate, and told 0 (baselines)")
    return ap.parse_args(argv)


def policy_noise(told: str, true_noise: float) -> str | float:
    """``--policy-noise`` as the graph policy's ``assumed_noise``."""
    if told in ("unknown", "auto"):
        return "auto"
    if told == "oracle":
        return true_noise
    try:
        return float(told)
    except ValueError:
        raise SystemExit(f"--policy-noise must be unknown, oracle or a number, got '{told}'"
                         ) from None


def tune(catalog: Any, ctx: Any, workers: int) -> dict[str, Any]:
    """Fit the belief on 4,000 valid pairs; grid the decision knobs on 2,000 others."""
    from agent.evaluate import conversation_pairs
    from agent.policies.tuning import fit_belief, tune_decision

    valid = conversation_pairs(catalog, "valid", None, seed=0)
    fit = fit_belief(ctx, valid[:4000])
    ctx.scorer = ctx.scorer.with_config(ctx.scorer.config.with_weights(fit.weights))
    grids = {}
    for noise in (0.0, 0.1, 0.2):
        grids[str(noise)] = tune_decision(
            ctx, valid[4000:6000], noise=noise, statement_prior=fit.statement_prior,
            temperatures=(1.0, 1.5), confidences=(0.1, 0.15, 0.2, 0.25, 0.3, 0.4), workers=workers)
    return {"belief": fit.__dict__, "decision_grid_best_first": grids}


NOISE_PRIORS = {"careful": (0.3, 0.2, 0.15, 0.15, 0.1, 0.1),
                "very careful": (0.5, 0.2, 0.1, 0.1, 0.05, 0.05),
                "uniform": (1, 1, 1, 1, 1, 1),
                "noisy": (0.1, 0.1, 0.15, 0.15, 0.2, 0.3)}


def tune_noise_prior(catalog: Any, ctx: Any, workers: int) -> dict[str, Any]:
    """SR@15 / AT of the estimated-noise graph policy per prior, on 2,000 valid pairs."""
    out: dict[str, Any] = {}
    for name, prior in NOISE_PRIORS.items():
        row = {}
        for eps in (0.0, 0.1, 0.2):
            r = cpr_report_valid(catalog, ctx, eps, workers, noise_prior=prior)
            row[str(eps)] = {m: r[m] for m in ("SR@15", "AT")}
        row["mean_SR@15"] = round(sum(v["SR@15"] for v in row.values()) / 3, 4)
        out[name] = row
    out["best"] = max(NOISE_PRIORS, key=lambda k: out[k]["mean_SR@15"])
    return out


def cpr_report_valid(catalog: Any, ctx: Any, eps: float, workers: int, **params: Any
                     ) -> dict[str, Any]:
    from agent.evaluate import cpr_report

    r = cpr_report(catalog, ["graph"], noise=eps, pairs=2000, seed=0, split="valid",
                   workers=workers, progress=None, context=ctx, assumed_noise="auto", **params)
    return r["policies"]["graph"]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    assumed = policy_noise(args.assumed_noise, args.noise)  # a bad value fails before loading
    from agent.evaluate import cpr_report, plot_sr_curves
    from agent.policies import build_context
    from recsys.catalogs import open_catalog

    catalog = open_catalog("lastfm-star", progress=False)
    t0 = time.perf_counter()
    ctx = build_context(catalog)
    setup = time.perf_counter() - t0
    if args.tune:
        print(json.dumps(tune(catalog, ctx, args.workers), indent=2))
        return
    if args.tune_noise_prior:
        print(json.dumps(tune_noise_prior(catalog, ctx, args.workers), indent=2))
        return
    n = None if args.pairs == "all" else int(args.pairs)
    report = cpr_report(catalog, args.policies.split(","), noise=args.noise, pairs=n,
                        seed=args.seed, workers=args.workers, progress=None, context=ctx,
                        assumed_noise=assumed)
    policies = {k: {m: v[m] for m in KEYS} for k, v in report["policies"].items()}
    if args.noise_oracle:  # what a deployment cannot have: the simulator's own flip rate
        for name, told in (("graph_told_true_noise", args.noise), ("graph_told_0", 0.0)):
            r = cpr_report(catalog, ["graph"], noise=args.noise, pairs=n, seed=args.seed,
                           workers=args.workers, progress=None, context=ctx,
                           assumed_noise=told)
            policies[name] = {m: r["policies"]["graph"][m] for m in KEYS}
    if args.ablations:
        from agent.evaluate import conversation_pairs
        from agent.policies.tuning import fit_belief

        # content-only scores, refitted on valid like the full hybrid (fair calibration)
        valid = conversation_pairs(catalog, "valid", None, seed=0)[:4000]
        fit = fit_belief(ctx, valid, parts=("content",))
        content_only = ctx.scorer.config.with_weights(fit.weights)
        runs: list[tuple[str, Any, dict[str, Any]]] = [
            ("graph_no_statement_prior", ctx, {"statement_prior": 0.0}),
            ("graph_content_only_scores", replace(ctx, scorer=ctx.scorer.with_config(content_only)),
             {"statement_prior": fit.statement_prior})]
        for name, c, params in runs:
            r = cpr_report(catalog, ["graph"], noise=args.noise, pairs=n, seed=args.seed,
                           workers=args.workers, progress=None, context=c,
                           assumed_noise=assumed, **params)
            policies[name] = {m: r["policies"]["graph"][m] for m in KEYS}
    out = {"dataset": "lastfm-star", "pairs": report["pairs"], "seed": args.seed,
           "noise": args.noise, "assumed_noise": assumed,
           "machine": {"cores": report["machine"]["cores"]},
           "setup_seconds": round(setup, 2), "policies": policies, "published": PUBLISHED}
    if args.plot:
        plot_sr_curves(report["policies"], args.plot,
                       f"LastFM* test, {report['pairs']} episodes, noise {args.noise:g}")
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
