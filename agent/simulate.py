"""Policies x simulated users on real scenes: the report ``tastebud simulate`` writes.

Episodes are real choices of users the simulators never learned from (the dev and held-out
users of ``build_scenes``; the latest scene of each, so what the policies' scorer knows of
the user is exactly what they did before it, and the choice is not one of the popular films
MovieLens asks newcomers to rate at sign-up): the target is the item the user really chose
next. The policies' models are trained on every event except those users' events from that
choice on, as a deployment would have them. Episode k plays scene ``k mod S`` with its own
seed, so more episodes than scenes replay scenes with fresh draws.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from agent.evaluate import Protocol, Run, evaluate, has_attributes, plot_sr_curves, rounded

POLICY_ALIASES = {"mf": "recommend_only"}  # the names -> registered policies
SIMULATORS = ("rule", "noisy", "choice_model", "lm")
SPEAKING = ("choice_model", "lm")  # simulators the manager can talk with
MANAGER = "manager"  # the full dialogue manager, played in words (agent/simulate_manager.py)


def _history_only(catalog: Any, scenes: list[Any]) -> Any:
    """``catalog`` without each episode user's events from their scene's choice on."""
    inter = catalog.interactions
    cut = np.full(catalog.n_users, np.iinfo(np.int64).max, dtype=np.int64)
    for s in scenes:
        cut[s.user] = min(cut[s.user], s.time)
    order_ok = inter.timestamps < cut[inter.users]
    # same-second events: keep exactly the scene's history, drop the choice itself
    chosen = {(s.user, s.chosen) for s in scenes}
    keep = order_ok & np.array([(u, i) not in chosen for u, i in
                                zip(inter.users.tolist(), inter.items.tolist(), strict=True)])
    return replace(catalog, interactions=inter.subset(keep))


def check_names(policies: list[str], simulator: str) -> list[str]:
    """The registered names of ``policies``; an unknown policy or simulator is named."""
    from agent.policies import available_policies
    from recsys.errors import UnknownNameError

    names = [POLICY_ALIASES.get(p, p) for p in policies]
    for p, name in zip(policies, names, strict=True):
        if name not in available_policies() and name != MANAGER:
            raise UnknownNameError("policy", p,
                                   [*available_policies(), *POLICY_ALIASES, MANAGER])
    if simulator not in SIMULATORS:
        raise UnknownNameError("simulator", simulator, list(SIMULATORS))
    if MANAGER in names and simulator not in SPEAKING:
        raise ValueError(f"the manager policy talks with a speaking user only "
                         f"({' or '.join(SPEAKING)}); not with '{simulator}'")
    return names


def simulate_report(catalog: Any, policies: list[str], simulator: str = "choice_model", *,
                    episodes: int = 200, seed: int = 0, workers: int = 2,
                    backend: str = "pool", noise: float = 0.1,
                    progress: bool | None = None, manager_episodes: int | None = None,
                    manager_llm: Any = None, settings: Any = None,
                    dialogues: list[dict[str, Any]] | None = None,
                    lm_checkpoint: Path | None = None) -> dict[str, Any]:
    """Run every policy against ``simulator`` and return the JSON-able report.

    Args:
        manager_episodes: at most this many episodes for the manager policy (its turns take
            milliseconds to seconds; the id policies' take microseconds); None: ``episodes``.
        manager_llm: the manager's chat model; None: rules and templates (``--model fake``).
        settings: where the manager's catalog database is (default: ``get_settings()``).
        dialogues: when given, each manager episode's transcript is appended to it.
        lm_checkpoint: the fine-tuned LM simulator for ``simulator="lm"`` (default: the one
            ``benchmarks/simulator_alignment.py --lm-scenes`` saves for this catalog).
    """
    from agent.policies import build_context, create_policy
    from agent.simulators.choice_model import ChoiceModel
    from agent.simulators.choice_user import ChoiceUser
    from agent.simulators.rule import NoisyRuleSimulator, RuleSimulator
    from agent.simulators.scenes import build_scenes

    names = check_names(policies, simulator)
    lm_folder = _lm_folder(catalog, lm_checkpoint, settings) if simulator == "lm" else None
    if lm_folder is not None and (workers > 1 or backend != "pool"):
        # the LM user runs torch, whose thread pool can hang in forked workers, and its
        # forward pass already uses every core: it plays in this process
        workers, backend = 1, "pool"
    t0 = time.perf_counter()
    sset = build_scenes(catalog, seed=seed, progress=progress)
    latest: dict[int, Any] = {}
    for part in ("dev", "heldout"):
        for s in sset.scenes[part]:
            if s.user not in latest or s.time > latest[s.user].time:
                latest[s.user] = s
    scenes = sorted(latest.values(), key=lambda s: (s.user, s.time))
    history = _history_only(catalog, scenes)
    ctx = build_context(history)
    has = has_attributes(catalog)
    scenes = [s for s in scenes if has[s.chosen]]
    if not scenes:
        raise ValueError(f"catalog '{catalog.name}' has no held-out scene whose item has an "
                         "attribute to state")
    pairs = np.array([[scenes[k % len(scenes)].user, scenes[k % len(scenes)].chosen]
                      for k in range(episodes)], dtype=np.int64)
    train_s = 0.0
    if simulator in SPEAKING:
        if simulator == "lm":
            chooser: Any = _lm_chooser(lm_folder, sset.world)  # type: ignore[arg-type]
        else:
            chooser = ChoiceModel(seed=seed, progress=progress).fit(sset.world,
                                                                    sset.scenes["train"])
            train_s = chooser.train_s
        inter = catalog.interactions
        seen = {s.user: set(inter.items[(inter.users == s.user)
                                        & (inter.timestamps < s.time)].tolist()) for s in scenes}
        sim: Any = ChoiceUser(ctx.graph, chooser, scenes, seen)
    elif simulator == "noisy":
        sim = NoisyRuleSimulator(ctx.graph, noise)
    else:
        sim = RuleSimulator(ctx.graph)
    setup_s = time.perf_counter() - t0
    protocol = Protocol()
    out: dict[str, Any] = {}
    runs: dict[str, Run] = {}
    for p, name in zip(policies, names, strict=True):
        if name == MANAGER:
            out[p] = _manager_metrics(history, ctx, sim, pairs[:manager_episodes], seed,
                                      protocol, workers, progress, manager_llm, settings,
                                      dialogues)
            continue
        params: dict[str, Any] = {"noise": "auto"} if name == "graph" else {}
        run = evaluate(create_policy(name, ctx, **params), sim, ctx.graph, pairs, seed=seed,
                       protocol=protocol, workers=workers, progress=progress, backend=backend)
        runs[p] = run
        out[p] = episode_metrics(run, ctx.graph.n_items)
    return {"catalog": catalog.name, "simulator": simulator, "episodes": episodes,
            "scenes": len(scenes), "seed": seed, "backend": backend,
            "noise": noise if simulator == "noisy" else None,
            "machine": {"cores": os.cpu_count(), "workers": workers},
            "setup_s": round(setup_s, 2), "simulator_train_s": round(train_s, 2),
            "policies": out}


def lm_checkpoint_path(catalog_name: str, settings: Any = None) -> Path:
    """Where ``simulator_alignment.py --lm-scenes`` saves the catalog's LM simulator."""
    from recsys.settings import get_settings

    data = (settings or get_settings()).data_dir
    return data / "models" / "simulators" / f"lm_simulator-{catalog_name}"


def _lm_folder(catalog: Any, checkpoint: Path | None, settings: Any) -> Path:
    """The LM simulator's checkpoint folder; a clear error, naming the fix, when absent."""
    folder = Path(checkpoint) if checkpoint else lm_checkpoint_path(catalog.name, settings)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"no trained LM simulator at {folder}: train one with `python benchmarks/"
            f"simulator_alignment.py --catalog {catalog.name} --lm-scenes 40 --lm-plain 400` "
            "(needs the sim extra: pip install -e '.[sim]') or pass --lm-checkpoint DIR")
    return folder


def _lm_chooser(folder: Path, world: Any) -> Any:
    """The fine-tuned LM simulator as the choice user's chooser."""
    from agent.simulators.lm_simulator import LMSimulator

    lm = LMSimulator.from_checkpoint(folder).load()
    lm.world = world
    return lm


def _manager_metrics(history: Any, ctx: Any, sim: Any, pairs: np.ndarray, seed: int,
                     protocol: Protocol, workers: int, progress: bool | None, llm: Any,
                     settings: Any, dialogues: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The manager policy's figures: the same keys, leaks and ungrounded items measured."""
    from agent.simulate_manager import build_manager, dialogue_rates, evaluate_manager
    from agent.simulators.talking import TalkingUser

    t0 = time.perf_counter()
    manager = build_manager(history, ctx, settings, list_size=protocol.list_size, llm=llm,
                            progress=progress)
    setup_s = time.perf_counter() - t0
    run, said = evaluate_manager(manager, TalkingUser(sim, history), pairs, seed=seed,
                                 protocol=protocol, workers=workers, progress=progress)
    if dialogues is not None:
        dialogues += [d.to_json(history) for d in said]
    m = episode_metrics(run, history.n_items)
    m.update(rounded(dialogue_rates(said)))
    m.update({"episodes": len(pairs), "setup_s": round(setup_s, 2),
              "llm": None if llm is None else getattr(llm, "name", type(llm).__name__),
              "list_size": protocol.list_size, "backend": "pool"})
    return m


def episode_metrics(run: Run, n_items: int) -> dict[str, Any]:
    """The report's per-policy figures: SR@k and AT (protocol), recall@10 (target shown),
    ungrounded (accepted ids outside the catalog), leaks (these users do not speak: None)."""
    eps = run.episodes
    base = run.summary()
    turns = [e.seconds / max(e.turns - 1, 1) for e in eps]
    bad = [e for e in eps if e.accepted is not None and not 0 <= e.accepted < n_items]
    return rounded({
        "SR@5": base["SR@5"], "SR@10": base["SR@10"], "SR@15": base["SR@15"], "AT": base["AT"],
        "recall@10": float(np.mean([e.target_shown for e in eps])),
        "accepted_target": float(np.mean([e.accepted == e.target for e in eps])),
        "ungrounded_rate": len(bad) / len(eps), "leaked_title_rate": None,
        "turn_p50_s": float(np.median(turns)), "episodes_per_s": base["episodes_per_s"],
        "SR_by_turn": base["SR_by_turn"],
    })


def write_report(report: dict[str, Any], folder: Path) -> dict[str, str]:
    """report.json, report.md and the SR-by-turn PNG into ``folder``."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    png = plot_sr_curves(report["policies"], folder / "sr_by_turn.png",
                         f"{report['catalog']}, {report['simulator']} users, "
                         f"{report['episodes']} episodes")
    cols = ["SR@5", "SR@10", "SR@15", "AT", "recall@10", "ungrounded_rate",
            "leaked_title_rate", "turn_p50_s"]
    lines = [f"# Simulation: {report['catalog']}, {report['simulator']} users",
             "", f"{report['episodes']} episodes over {report['scenes']} real held-out scenes, "
             f"seed {report['seed']}, backend {report['backend']}.", "",
             "| policy | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, m in report["policies"].items():
        lines.append(f"| {name} | " + " | ".join(str(m[c]) for c in cols) + " |")
    (folder / "report.md").write_text("\n".join(lines) + "\n")
    files = {"json": str(folder / "report.json"), "markdown": str(folder / "report.md"),
             "plot": str(png)}
    (folder / "report.json").write_text(json.dumps({**report, "files": files}, indent=2))
    return files
