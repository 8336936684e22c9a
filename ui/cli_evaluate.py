"""``tastebud evaluate``: offline evaluation of dialogue policies against simulated users.

Wired into the main CLI with ``app.add_typer(evaluate_app, name="evaluate")``. Heavy imports
live inside the command so ``tastebud --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

evaluate_app = typer.Typer(help="Evaluate dialogue policies with simulated users.",
                           no_args_is_help=True)


def parse_pairs(value: str) -> int | None:
    """``all`` -> None (every pair), else a positive count."""
    if value.strip().lower() == "all":
        return None
    try:
        n = int(value)
    except ValueError:
        raise typer.BadParameter(f"expected a number of pairs or 'all', got '{value}'") from None
    if n <= 0:
        raise typer.BadParameter(f"the number of pairs must be positive, got {n}")
    return n


@evaluate_app.command("cpr")
def cpr(
    dataset: Annotated[str, typer.Option(help="Catalog name (must have train/valid/test).")]
    = "lastfm-star",
    policy: Annotated[list[str] | None, typer.Option(
        "--policy", "-p", help="Policy to run (repeat for several; 'all' for every one).")]
    = None,
    noise: Annotated[float, typer.Option(
        min=0.0, max=0.49, help="Probability that the simulated user flips an answer.")] = 0.0,
    pairs: Annotated[str, typer.Option(
        help="How many seeded test pairs (the authors use 4000), or 'all'.")] = "4000",
    split: Annotated[str, typer.Option(help="Split to play (tune on 'valid').")] = "test",
    seed: Annotated[int, typer.Option(help="Seed of the pair shuffle and the episodes.")] = 1,
    workers: Annotated[int, typer.Option(min=1, help="Processes (cores) to use.")] = 2,
    out: Annotated[Path | None, typer.Option(
        help="Directory for the JSON and the SR-by-turn PNG (default: DATA_DIR/evaluations).")]
    = None,
) -> None:
    """Multi-round conversational recommendation (CPR/SCPR/UNICORN binary-question protocol)."""
    from agent.evaluate import cpr_report, plot_sr_curves
    from agent.policies import available_policies
    from recsys.catalogs import open_catalog
    from recsys.errors import TastebudError, UnknownNameError
    from recsys.settings import get_settings

    n_pairs = parse_pairs(pairs)
    names = policy or ["graph"]
    if "all" in names:
        names = available_policies()
    settings = get_settings()
    try:
        for name in names:  # fail fast, before loading anything
            if name not in available_policies():
                raise UnknownNameError("policy", name, available_policies())
        catalog = open_catalog(dataset, settings)
        labels = catalog.interactions.splits
        if labels is None or split not in set(labels.tolist()):
            raise TastebudError(
                f"catalog '{dataset}' has no '{split}' split; the protocol needs a catalog "
                "whose spec labels train/valid/test interactions (e.g. lastfm-star)")
        report = cpr_report(catalog, names, noise=noise, pairs=n_pairs, seed=seed,
                            split=split, workers=workers, progress=None)
    except TastebudError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    folder = out or settings.data_dir / "evaluations"
    stem = f"cpr_{dataset}_{split}_{report['pairs']}_noise{noise:g}"
    folder.mkdir(parents=True, exist_ok=True)
    png = plot_sr_curves(report["policies"], folder / f"{stem}.png",
                         f"{dataset} {split}, {report['pairs']} episodes, noise {noise:g}")
    report["files"] = {"json": str(folder / f"{stem}.json"), "plot": str(png)}
    (folder / f"{stem}.json").write_text(json.dumps(report, indent=2))
    typer.echo(json.dumps(report, indent=2))


def simulate(
    policies: Annotated[str, typer.Option(
        help="Comma-separated policies: manager (the full dialogue manager, in words), "
             "graph, mf, popularity, or any 'evaluate cpr' one.")]
    = "graph,mf,popularity",
    simulator: Annotated[str, typer.Option(
        help="Simulated user: choice_model (trained on real choices), lm (the fine-tuned "
             "LM simulator; see --lm-checkpoint), rule or noisy.")]
    = "choice_model",
    episodes: Annotated[int, typer.Option(min=1, help="Episodes per policy.")] = 200,
    dataset: Annotated[str, typer.Option(
        "--catalog", help="Catalog with timestamped ratings.")] = "movielens-small",
    noise: Annotated[float, typer.Option(min=0.0, max=0.49,
                                         help="Flip rate of the noisy user.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of scenes and episodes.")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="Processes (or Ray CPUs).")] = 2,
    backend: Annotated[str, typer.Option(
        help="pool (processes here) or ray (RAY_ADDRESS, else a local Ray cluster).")] = "pool",
    out: Annotated[Path | None, typer.Option(
        help="Report folder (default: DATA_DIR/simulations/<catalog>_<simulator>).")] = None,
    manager_episodes: Annotated[int | None, typer.Option(
        min=1, help="At most this many episodes for the manager (default: --episodes).")]
    = None,
    manager_model: Annotated[str, typer.Option(
        help="The manager's LLM: 'fake' (rules and templates) or a model as in "
             "'tastebud chat --model'.")] = "fake",
    store: Annotated[bool, typer.Option(
        "--store", help="Save the manager's dialogues as read-only simulated sessions "
                        "(the web page replays them).")] = False,
    lm_checkpoint: Annotated[Path | None, typer.Option(
        help="The LM simulator for --simulator lm (default: the one "
             "benchmarks/simulator_alignment.py saved for the catalog).")] = None,
) -> None:
    """Policies x simulated users on real held-out choices: report.json, report.md, a plot."""
    from agent.simulate import check_names, simulate_report, write_report
    from recsys.catalogs import open_catalog
    from recsys.errors import TastebudError
    from recsys.settings import get_settings

    if backend not in ("pool", "ray"):
        raise typer.BadParameter(f"backend must be 'pool' or 'ray', got '{backend}'")
    names = [p.strip() for p in policies.split(",") if p.strip()]
    settings = get_settings()
    try:
        check_names(names, simulator)  # fail fast, before loading anything
        catalog = open_catalog(dataset, settings)
        llm = None
        if "manager" in names and manager_model not in ("fake", "none"):
            from ui.cli_chat import _chat_model

            llm = _chat_model(manager_model)
        said: list[dict[str, Any]] = []
        report = simulate_report(catalog, names, simulator, episodes=episodes, seed=seed,
                                 workers=workers, backend=backend, noise=noise, progress=None,
                                 manager_episodes=manager_episodes, manager_llm=llm,
                                 settings=settings, dialogues=said, lm_checkpoint=lm_checkpoint)
    except (TastebudError, ValueError, RuntimeError, FileNotFoundError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    folder = out or settings.data_dir / "simulations" / f"{dataset}_{simulator}"
    report["files"] = write_report(report, folder)
    if said:
        path = folder / "manager_dialogues.jsonl"
        path.write_text("".join(json.dumps(d) + "\n" for d in said))
        report["files"]["dialogues"] = str(path)
    if store and said:
        from profiles.db import open_store
        from profiles.simulations import store_dialogues

        ids = store_dialogues(open_store(settings), catalog.name, said,
                              {"simulator": simulator, "seed": seed, "report": str(folder)})
        report["stored_sessions"] = len(ids)
    if said:  # the report on disk names the dialogues (and the sessions) too
        (folder / "report.json").write_text(json.dumps(report, indent=2))
    typer.echo(json.dumps(report, indent=2))
