"""Edit cost of learning preferences from edits (PRELUDE / CIPHER protocol, BENCHMARKS.md s. 3).

A simulated person with a hidden preference per kind of situation ("with my parents: no
Horror", "with friends: nothing before 1990", "alone: no Romance", ...; some conflict across
situations, one situation has none) asks for something in a situation each round; the system
recommends 10 items; the person takes off the items that break the hidden preference and puts
others in their place. Cost = the list's edit distance (one substitution per item taken off),
summed over rounds. The learner sees the list as shown and as kept, never the hidden rule.

Methods, all through the server's own path (``Manager.turn`` with ``recall``, ``Cipher`` on a
``ProfileStore``): no learning; oracle (told the hidden rule of the situation); ICL-edit (the
raw edit of the most similar past situation: those very items stay off); CIPHER-1 and CIPHER-5
(the rules of the 1 / 5 most similar past situations); context-agnostic (every rule learned,
whatever the situation). With ``--llm NAME``: cipher_5_llm (a model reads each edit); with
``--llm-aggregate NAME``: cipher_5_llm_agg (CIPHER-5 whose recalled preferences a model
combines into one per request, ``profiles.llm_aggregate``, the merge answering when its reply
is unusable; the manager's own aggregator, as the server's ``TASTEBUD_PROFILE_AGGREGATE=llm``).

The situations' wordings come in two sets: ``dev`` (seen while choosing CIPHER's similarity
threshold) and ``heldout`` (never looked at before the reported run). Both are reported.

    TASTEBUD_MIRROR=../shared/datasets python benchmarks/edit_cost.py [--rounds 200 --seeds 3]

Prints one JSON object (the output contract of issue 13) and writes the cumulative-cost curves
to docs/edit_cost.png. The demo catalog is prepared on first use (like ``tastebud serve``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from profiles.rules import Rule  # noqa: E402

# situation -> (hidden rule, dev wordings, held-out wordings)
SITUATIONS: dict[str, tuple[Rule, list[str], list[str]]] = {
    "parents": (Rule(exclude={"genre": ["Horror"]}),
                ["to watch with my parents", "for when my mom and dad visit",
                 "for an evening with my parents", "my parents are staying with us"],
                ["to watch with my mother and father", "for my parents this weekend",
                 "that my folks would enjoy"]),
    "alone": (Rule(exclude={"genre": ["Romance"]}),
              ["to watch alone tonight", "just for me tonight", "for a night by myself",
               "for me, on my own"],
              ["for a solo evening", "I'm home alone tonight", "to watch by myself"]),
    "date": (Rule(exclude={"genre": ["Horror", "War"]}),
             ["for date night", "to watch with my girlfriend", "for a date at home",
              "for a romantic evening with my partner"],
             ["to watch with my boyfriend", "for a night in with my wife",
              "for our anniversary evening"]),
    "friends": (Rule(ranges={"year": [1990, None]}),
                ["to watch with friends", "for a night with the guys",
                 "for a party with friends", "my friends are coming over"],
                ["for movie night with my mates", "for the gang on Saturday",
                 "to put on when friends visit"]),
    "classic": (Rule(ranges={"year": [None, 1979]}),
                ["for a classic film night", "for an old-movie evening",
                 "for a night of golden oldies", "for a vintage cinema night"],
                ["that feels like old Hollywood", "for a nostalgic film evening",
                 "for a retro night in"]),
    "neutral": (Rule(),
                ["to watch", "for tonight", "please", "for this evening"],
                ["for later", "for the weekend", "for now"]),
}
# concrete asks (a vague one is answered with a question, not a list to edit)
ASKS = ["a comedy", "a drama", "an action movie", "a thriller", "a mystery", "a fantasy film",
        "a crime film", "an adventure film", "a sci-fi movie", "an animated film"]
METHODS = ["no_learning", "oracle", "icl_edit", "cipher_1", "cipher_5", "context_agnostic"]
LIST = 10


def log(msg: str) -> None:
    print(f"[edit_cost {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Round:
    situation: str
    text: str


def script(rounds: int, seed: int, split: str) -> list[Round]:
    """The rounds of one simulated person: a situation and a request in it each round."""
    rng = random.Random(seed)
    out = []
    names = list(SITUATIONS)
    for _ in range(rounds):
        name = rng.choice(names)
        hidden, dev, held = SITUATIONS[name]
        asks = [a for a in ASKS if not any(g.lower() in a for vs in hidden.exclude.values()
                                           for g in vs)]
        wording = rng.choice(dev if split == "dev" else held)
        out.append(Round(name, f"{rng.choice(asks)} {wording}"))
    return out


def _memory(method: str, cipher: Any, user: int, catalog: Any, hidden: Rule) -> Any:
    """The ``recall`` a turn gets under ``method`` (None: nothing remembered)."""
    if method == "no_learning":
        return None
    if method == "oracle":
        told = {"id": 0, "text": hidden.describe(catalog), "context": "", "similarity": 1.0,
                "rule": hidden.to_json()}
        return (lambda context: [told]) if not hidden.empty else None

    def recall(context: str) -> list[dict[str, Any]]:
        return [r.to_json() for r in cipher.recall(user, catalog, context)]

    return recall


_LLM: list[Any] = []  # the chat model of --llm, loaded once (cipher_5_llm)
_AGG_LLM: list[Any] = []  # the chat model of --llm-aggregate (cipher_5_llm_agg)


def _cipher(method: str, store: Any, encoder: Any, min_similarity: float) -> Any:
    from profiles.cipher import Cipher
    from profiles.rules import removed_items

    if method == "cipher_5_llm":  # the model reads each edit, checked against the items
        from profiles.llm_infer import LLMInfer

        if not _LLM:
            raise SystemExit("cipher_5_llm needs a model: pass --llm NAME (tastebud models)")
        return Cipher(store, encoder, k=5, min_similarity=min_similarity,
                      infer=LLMInfer(_LLM[0]))

    if method == "cipher_5_llm_agg":  # rules read the edits; the manager's aggregator combines
        return Cipher(store, encoder, k=5, min_similarity=min_similarity)
    if method == "icl_edit":
        return Cipher(store, encoder, k=1, min_similarity=min_similarity, infer=removed_items)
    if method == "cipher_1":
        return Cipher(store, encoder, k=1, min_similarity=min_similarity)
    if method == "context_agnostic":
        return Cipher(store, encoder, contextual=False)
    return Cipher(store, encoder, k=5, min_similarity=min_similarity)


def _matches(rule: Rule, hidden: Rule) -> bool:
    """A learned rule that states (part of) the hidden one and nothing else."""
    if hidden.empty or rule.empty or rule.items:
        return False
    said = {(f, v) for part in (rule.exclude, rule.less) for f, vs in part.items() for v in vs}
    want = {(f, v) for f, vs in hidden.exclude.items() for v in vs}
    if rule.ranges:
        return not said and all(hidden.ranges.get(k) and
                                [x is None for x in v] == [x is None for x in hidden.ranges[k]]
                                for k, v in rule.ranges.items())
    return bool(said) and said <= want


def run_method(manager: Any, encoder: Any, method: str, rounds: list[Round],
               min_similarity: float, workdir: Path) -> dict[str, Any]:
    """One simulated person under one method: per-round costs and what was learned."""
    from profiles.db import make_engine
    from profiles.migrate import upgrade
    from profiles.store import ProfileStore

    engine = make_engine(f"sqlite:///{workdir / f'{method}.db'}")
    upgrade(engine)
    store = ProfileStore(engine)
    user = store.create_user("simulated")[0].id
    cipher = _cipher(method, store, encoder, min_similarity)
    aggregator = None
    if method == "cipher_5_llm_agg":
        from profiles.llm_aggregate import LLMAggregate

        if not _AGG_LLM:
            raise SystemExit("cipher_5_llm_agg needs a model: pass --llm-aggregate NAME")
        aggregator = LLMAggregate(_AGG_LLM[0])
    before, manager.aggregator = manager.aggregator, aggregator
    try:
        out = _rounds(manager, method, cipher, store, user, rounds)
    finally:
        manager.aggregator = before
        engine.dispose()
    if aggregator is not None:
        out["aggregation"] = aggregator.tally.to_json()
    return out


def _rounds(manager: Any, method: str, cipher: Any, store: Any, user: int,
            rounds: list[Round]) -> dict[str, Any]:
    cat = manager.catalog
    costs, applied_in_neutral, neutral = [], 0, 0
    applied_by: dict[str, int] = {}  # who combined the recalled preferences, per round
    learned_in: dict[int, str] = {}
    for r in rounds:
        hidden = SITUATIONS[r.situation][0]
        conv = manager.start(None)
        items: list[str] = []
        done: dict[str, Any] = {}
        for ev in manager.turn(conv, r.text, recall=_memory(method, cipher, user, cat, hidden)):
            if ev.type == "items":
                items = [c["id"] for c in ev.data["items"]]
            elif ev.type == "done":
                done = ev.data
        if done.get("memory"):
            who = done["memory"][0].get("aggregated_by", "merge")
            applied_by[who] = applied_by.get(who, 0) + 1
        index = cat.item_index
        kept = [i for i in items if hidden.admits(cat, index[i])]
        # one substitution per item taken off, one insertion per item missing from a short
        # list (a memory that filters everything away is no saving)
        costs.append(LIST - len(kept))
        if r.situation == "neutral":
            neutral += 1
            applied_in_neutral += bool(done.get("memory"))
        if method not in ("no_learning", "oracle") and len(kept) < len(items):
            pref = cipher.learn(user, cat, conv.context, items, kept,
                                key=manager.situation(conv.context))
            if pref is not None:
                learned_in[pref.id] = r.situation
    learned = [p for p in store.profile(user) if p.id in learned_in]
    accuracy = (sum(_matches(Rule.from_json(p.rule), SITUATIONS[learned_in[p.id]][0])
                    for p in learned) / len(learned)) if learned else None
    by: dict[str, int] = {}  # who read each learned preference (llm, or rules as fallback)
    for p in learned:
        k = (p.evidence or {}).get("inferred_by", "rules")
        by[k] = by.get(k, 0) + 1
    return {"costs": costs, "preference_accuracy": accuracy, "learned": len(learned),
            "inferred_by": by, "aggregated_by": applied_by,
            "overgeneralisation": applied_in_neutral / neutral if neutral else None}


def _summary(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    totals = [sum(r["costs"]) for r in per_seed]
    acc = [r["preference_accuracy"] for r in per_seed if r["preference_accuracy"] is not None]
    over = [r["overgeneralisation"] for r in per_seed if r["overgeneralisation"] is not None]
    return {"cumulative_cost": round(float(np.mean(totals)), 1),
            "std": round(float(np.std(totals)), 1), "per_seed": totals,
            "preference_accuracy": round(float(np.mean(acc)), 3) if acc else None,
            "overgeneralisation": round(float(np.mean(over)), 3) if over else None,
            "learned_preferences": [r["learned"] for r in per_seed],
            "inferred_by": [r["inferred_by"] for r in per_seed],
            "aggregated_by": [r["aggregated_by"] for r in per_seed],
            **({"aggregation": [r["aggregation"] for r in per_seed]}
               if "aggregation" in per_seed[0] else {})}


def plot(curves: dict[str, dict[str, list[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 4), squeeze=False)
    for ax, (split, by_method) in zip(axes[0], curves.items(), strict=True):
        for method, curve in by_method.items():
            ax.plot(range(1, len(curve) + 1), curve, label=method)
        ax.set_title(f"cumulative edit cost, {split} wordings (mean of seeds)")
        ax.set_xlabel("round")
        ax.set_ylabel("items taken off and replaced")
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--catalog", default="movielens-small")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--splits", default="dev,heldout")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--encoder", default=None,
                    help="context encoder (default: the configured embedding model, MiniLM)")
    ap.add_argument("--min-similarity", type=float, default=None,
                    help="CIPHER's similarity threshold (default: profiles.cipher's)")
    ap.add_argument("--plot", type=Path, default=REPO / "docs" / "edit_cost.png")
    ap.add_argument("--llm", default=None,
                    help="a registered local model (e.g. qwen2.5-coder-0.5b): adds cipher_5_llm, "
                         "CIPHER-5 whose edits are read by that model")
    ap.add_argument("--llm-aggregate", default=None, metavar="NAME",
                    help="a registered local model: adds cipher_5_llm_agg, CIPHER-5 whose "
                         "recalled preferences that model combines (merge as fallback)")
    args = ap.parse_args(argv)

    from tqdm.auto import tqdm

    from agent.manager import Manager
    from profiles.cipher import MIN_SIMILARITY
    from recsys.embeddings import get_encoder
    from recsys.settings import get_settings

    settings = get_settings()
    if args.encoder:
        settings.embedding_model = args.encoder
    threshold = MIN_SIMILARITY if args.min_similarity is None else args.min_similarity
    t0 = time.perf_counter()
    log(f"opening {args.catalog} (prepared on first use) ...")
    manager = Manager.open(args.catalog, settings, llm=None, progress=True, list_size=LIST)
    encoder = get_encoder(settings)
    methods = args.methods.split(",")
    if args.llm:
        from agent.llm import get_chat_model

        _LLM.append(get_chat_model(settings.llm.model_copy(update={"model": args.llm})))
        methods.append("cipher_5_llm") if "cipher_5_llm" not in methods else None
    if args.llm_aggregate:
        from agent.llm import get_chat_model

        _AGG_LLM.append(get_chat_model(settings.llm.model_copy(
            update={"model": args.llm_aggregate})))
        methods += [] if "cipher_5_llm_agg" in methods else ["cipher_5_llm_agg"]
    splits = args.splits.split(",")
    out: dict[str, Any] = {"rounds": args.rounds, "seeds": args.seeds, "list_size": LIST,
                           "catalog": args.catalog, "encoder": encoder.name,
                           "min_similarity": threshold}
    curves: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="tastebud-edit-cost-") as tmp:
        bar = tqdm(total=len(splits) * len(methods) * args.seeds, desc="edit cost runs",
                   unit="run", disable=None)
        for split in splits:
            results: dict[str, Any] = {}
            curves[split] = {}
            for method in methods:
                per_seed = []
                for seed in range(args.seeds):
                    work = Path(tmp) / f"{split}-{seed}"
                    work.mkdir(exist_ok=True)
                    rounds = script(args.rounds, seed, split)
                    per_seed.append(run_method(manager, encoder, method, rounds, threshold,
                                               work))
                    bar.update()
                results[method] = _summary(per_seed)
                curves[split][method] = np.mean(
                    [np.cumsum(r["costs"]) for r in per_seed], axis=0).round(2).tolist()
                log(f"{split} {method}: {results[method]['cumulative_cost']}")
            nl = results.get("no_learning", {}).get("cumulative_cost")
            orc = results.get("oracle", {}).get("cumulative_cost")
            c5 = results.get("cipher_5", {}).get("cumulative_cost")
            out[split] = {
                "methods": {m: {k: r[k] for k in ("cumulative_cost", "std", "per_seed")}
                            for m, r in results.items()},
                "preference_accuracy": {m: r["preference_accuracy"] for m, r in results.items()
                                        if m.startswith("cipher")},
                "overgeneralisation": {m: r["overgeneralisation"] for m, r in results.items()
                                       if m not in ("no_learning", "oracle")},
                "aggregated_by": {m: r["aggregated_by"] for m, r in results.items()
                                  if m.startswith("cipher")},
                **({"aggregation": results["cipher_5_llm_agg"]["aggregation"]}
                   if "cipher_5_llm_agg" in results else {}),
                "cipher_5_vs_no_learning": round(c5 / nl, 3) if c5 is not None and nl else None,
                "cipher_5_vs_oracle": round(c5 / orc, 3) if c5 is not None and orc else None,
            }
        bar.close()
    # the contract's top-level keys: the held-out wordings (dev beside them, under "dev")
    main_split = "heldout" if "heldout" in out else splits[0]
    out["methods"] = out[main_split]["methods"]
    out["preference_accuracy"] = out[main_split]["preference_accuracy"]
    out["overgeneralisation"] = out[main_split]["overgeneralisation"]
    out["machine"] = (f"{platform.machine()}, {os.cpu_count()} cores, Python "
                      f"{platform.python_version()}; "
                      + "; ".join([*([f"{args.llm} reads the edits of cipher_5_llm"]
                                     if args.llm else []),
                                   *([f"{args.llm_aggregate} combines the recalled "
                                      "preferences of cipher_5_llm_agg"]
                                     if args.llm_aggregate else [])]
                                  or ["no LLM (rules and templates)"]))
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    if args.plot:
        plot(curves, args.plot)
        out["plot"] = str(args.plot.relative_to(REPO) if args.plot.is_relative_to(REPO)
                          else args.plot)
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
