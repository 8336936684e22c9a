"""How well each simulator mirrors real users' choices (UserMirrorer protocol, held-out users).

Scenes come from a catalog's real ratings (``agent/simulators/scenes.py``): a user's history,
an exposure list of N items (the real next choice, popularity and look-alike negatives), the
real choice. Users are split by id hash: train (everything a chooser learns from), dev (early
stopping; what the features were chosen on) and heldout (never looked at while developing).
Every chooser is scored on the same lists in one run: random, popularity, MF (ALS on train
users, folded in from the history), the ranks logit (the best reader of the five within-list
ranks the LM's text shows, ``agent/simulators/ranks_chooser.py``), the local LLM zero-shot
(``--llm-scenes`` held-out scenes per N, it costs seconds each on 2 cores), the trained
choice model, and the LM simulator (SmolLM2-135M, SFT then DPO with ``trl`` on the teacher's
kept rationales from ``benchmarks/teacher_rationales.py`` plus ``--lm-plain`` train scenes with
the real choice only; by default it reads the choice model's ranking, ``--lm-order``; scored on
``--lm-scenes`` held-out and dev scenes per N, beside every other chooser on the same scenes;
its checkpoint and card go to ``<data_dir>/models/simulators/``).

    TASTEBUD_MIRROR=../shared/datasets python benchmarks/simulator_alignment.py \
        [--catalog movielens-small] [--llm-scenes 60] [--lm-scenes 40] [--lm-plain 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", default="movielens-small")
    ap.add_argument("--llm-scenes", type=int, default=60,
                    help="held-out scenes per N the LLM answers (0: skip it)")
    ap.add_argument("--lm-scenes", type=int, default=40,
                    help="held-out scenes per N the LM simulator scores (0: skip it)")
    ap.add_argument("--lm-dev-scenes", type=int, default=None,
                    help="dev scenes per N it scores (default: --lm-scenes)")
    ap.add_argument("--lm-kept", type=Path, default=None,
                    help="the teacher's kept.jsonl (default: <data_dir>/simulators/teacher/"
                         "<catalog>-n5/kept.jsonl when it exists)")
    ap.add_argument("--lm-plain", type=int, default=40,
                    help="extra train scenes the LM simulator learns without a rationale")
    ap.add_argument("--lm-model", default="smollm2-135m",
                    help="base model: registered GGUF name, .gguf path or checkpoint dir")
    ap.add_argument("--lm-sft-epochs", type=int, default=1)
    ap.add_argument("--lm-dpo-epochs", type=int, default=1)
    ap.add_argument("--lm-dpo-rows", type=int, default=None,
                    help="at most this many DPO pairs (default: every SFT row)")
    ap.add_argument("--lm-lr", type=float, default=2e-4, help="SFT learning rate")
    ap.add_argument("--lm-train-layers", type=int, default=15,
                    help="fine-tune the top this many decoder layers (SmolLM2-135M has 30)")
    ap.add_argument("--lm-order", choices=("fit", "taste"), default="fit",
                    help="fit: options listed by the choice model, each with its fit rank (the "
                         "LM reads the choice model); taste: by MF, with the five ranks only")
    ap.add_argument("--lm-facts", default=None,
                    help="comma-separated ranks each option shows beside fit (default: taste "
                         "for --lm-order fit, all five for taste)")
    ap.add_argument("--lm-prior-folds", type=int, default=2,
                    help="train rows read fit ranks from choice models that never saw their "
                         "user (this many folds)")
    ap.add_argument("--lm-untrained", action="store_true",
                    help="also score the base model before training (same scenes)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.lm_facts:  # before minutes of scenes and training, not after
        from agent.simulators.scene_text import RANKS

        bad = {f.strip() for f in args.lm_facts.split(",") if f.strip()} - set(RANKS)
        if bad:
            ap.error(f"--lm-facts: unknown {sorted(bad)}; valid: {', '.join(RANKS)}")

    from agent.simulators.choice_model import ChoiceModel
    from agent.simulators.choosers import (
        LLMChooser,
        MFChooser,
        PopularityChooser,
        RandomChooser,
        accuracy,
        hits,
        paired_gap,
    )
    from agent.simulators.ranks_chooser import RanksChooser
    from agent.simulators.scenes import build_scenes, views
    from recsys.catalogs import open_catalog

    catalog = open_catalog(args.catalog)
    t0 = time.perf_counter()
    sset = build_scenes(catalog, seed=args.seed, progress=None)
    build_s = time.perf_counter() - t0
    world, parts = sset.world, sset.scenes
    train_s: dict[str, float] = {}
    t0 = time.perf_counter()
    _ = world.als
    train_s["mf"] = time.perf_counter() - t0
    choosers: list[Any] = [RandomChooser(), PopularityChooser(), MFChooser()]
    for ch in choosers:
        ch.fit(world, parts["train"])
    cm = ChoiceModel(seed=args.seed, progress=None).fit(world, parts["train"], parts["dev"])
    train_s["choice_model"] = cm.train_s
    choosers.append(cm)
    # a linear reader of the five ranks the LM's text shows (ranks_chooser.py)
    ranks = RanksChooser().fit(world, parts["train"])
    train_s["ranks_logit"] = ranks.train_s
    choosers.append(ranks)
    llm = None
    if args.llm_scenes:
        from agent.llm import get_chat_model, get_llm_settings

        llm = LLMChooser(get_chat_model(get_llm_settings()))
        llm.fit(world, parts["train"])
    lm, lm_card = (_lm_simulator(args, world, parts, train_s, rival=cm)
                   if args.lm_scenes else (None, None))
    out: dict[str, Any] = {"catalog": args.catalog, "scenes": sum(sset.counts().values()),
                           "scenes_by_part": sset.counts(), "params": sset.params,
                           "choices": {}, "train_s": {k: round(v, 2) for k, v in
                                                      train_s.items()},
                           "build_s": round(build_s, 2),
                           "machine": {"cores": os.cpu_count(),
                                       "python": platform.python_version()}}
    for n in (5, 10):
        row: dict[str, Any] = {}
        for ch in choosers:
            row[ch.name] = {p: {"accuracy": round(accuracy(ch, views(parts[p], n)), 4),
                                "scenes": len(parts[p])} for p in ("dev", "heldout")}
            row[ch.name]["accuracy"] = row[ch.name]["heldout"]["accuracy"]
        # is the choice model's lead over MF more than the luck of which users are held out?
        row["choice_model_minus_mf"] = {
            p: paired_gap(hits(cm, views(parts[p], n)), hits(choosers[2], views(parts[p], n)))
            for p in ("dev", "heldout")}
        row["ranks_logit_minus_mf"] = {
            p: paired_gap(hits(ranks, views(parts[p], n)), hits(choosers[2], views(parts[p], n)))
            for p in ("dev", "heldout")}
        if llm is not None:
            sub = views(parts["heldout"][:args.llm_scenes], n)
            t0 = time.perf_counter()
            acc = accuracy(llm, sub)
            row[llm.name] = {"accuracy": round(acc, 4), "heldout_subset": {
                "accuracy": round(acc, 4), "scenes": len(sub), "unparsed": llm.failures,
                "s_per_scene": round((time.perf_counter() - t0) / len(sub), 2),
                "model": getattr(llm.llm, "name", "?")}}
            llm.failures = 0
            # every chooser on the same subset, so the LLM's figure has its comparison
            for ch in choosers:
                row[ch.name]["heldout_subset"] = {"accuracy": round(accuracy(ch, sub), 4),
                                                  "scenes": len(sub)}
        if lm is not None:
            _score_lm(row, lm, choosers, parts, n, args.lm_scenes,
                      args.lm_scenes if args.lm_dev_scenes is None else args.lm_dev_scenes)
        out["choices"][str(n)] = row
    if lm_card is not None:
        out["lm_simulator"] = lm_card
    json.dump(out, sys.stdout, indent=2)
    print()
    return out


def _lm_simulator(args: argparse.Namespace, world: Any, parts: dict[str, list[Any]],
                  train_s: dict[str, float], rival: Any) -> tuple[Any, dict[str, Any]]:
    """The LM simulator trained on the kept teacher rows (+ plain scenes), saved with a card;
    DPO's rejected answers are the choice model's favourite wrong options. With
    ``--lm-order fit`` it reads the choice model (``rival``): train rows from out-of-fold
    models, scoring from the full one."""
    import json as _json

    from agent.simulate import lm_checkpoint_path
    from agent.simulators.lm_simulator import LMSimulator
    from agent.simulators.teacher import read_kept
    from recsys.settings import get_settings

    data = get_settings().data_dir
    kept_path = args.lm_kept or (data / "simulators" / "teacher" / f"{args.catalog}-n5"
                                 / "kept.jsonl")
    kept = read_kept(kept_path) if kept_path.is_file() else []
    teacher_card: dict[str, Any] = {}
    if (kept_path.parent / "card.json").is_file():
        teacher_card = _json.loads((kept_path.parent / "card.json").read_text())
    fit_order = args.lm_order == "fit"
    facts = ([f.strip() for f in args.lm_facts.split(",") if f.strip()] if args.lm_facts
             else ["taste"] if fit_order else None)
    prior_of = None
    if fit_order:
        from agent.simulators.choice_model import out_of_fold

        t0 = time.perf_counter()
        prior_of = out_of_fold(world, parts["train"], parts["dev"], folds=args.lm_prior_folds,
                               seed=args.seed, progress=None)
        train_s["lm_prior_folds"] = time.perf_counter() - t0
    lm = LMSimulator(args.lm_model, sft_epochs=args.lm_sft_epochs,
                     dpo_epochs=args.lm_dpo_epochs, lr_sft=args.lm_lr,
                     train_layers=args.lm_train_layers, seed=args.seed, progress=None,
                     order=args.lm_order, prior=rival if fit_order else None,
                     **({"facts": facts} if facts else {}))
    untrained = None
    if args.lm_untrained:  # the base model reading the same text
        untrained = LMSimulator(args.lm_model, seed=args.seed, order=args.lm_order,
                                prior=rival if fit_order else None,
                                **({"facts": facts} if facts else {})).load()
        untrained.name = "lm_untrained"  # type: ignore[misc]
        untrained.world = world
    lm.fit(world, parts["train"], kept=kept, plain=args.lm_plain, rival=rival,
           dpo_rows=args.lm_dpo_rows, prior_of=prior_of)
    train_s["lm_simulator_sft"] = lm.train_s.get("sft", 0.0)
    train_s["lm_simulator_dpo"] = lm.train_s.get("dpo", 0.0)
    train_s["lm_simulator"] = sum(lm.train_s.values())
    if teacher_card:
        train_s["lm_teacher"] = float(teacher_card.get("teacher_seconds", 0.0))
    folder = lm_checkpoint_path(args.catalog)
    card = {"checkpoint": str(lm.save(folder, {"catalog": args.catalog,
                                                "kept_file": str(kept_path),
                                                "teacher": teacher_card})),
            "rows": lm.rows, "kept_file": str(kept_path) if kept else None,
            "teacher": {k: teacher_card.get(k) for k in
                        ("teacher", "seen", "kept", "samples_per_scene", "teacher_seconds",
                         "seconds_per_scene", "student_for_uncertainty")} if teacher_card
            else None}
    lm.untrained = untrained  # type: ignore[attr-defined]
    return lm, card


def _score_lm(row: dict[str, Any], lm: Any, choosers: list[Any], parts: dict[str, list[Any]],
              n: int, k: int, k_dev: int) -> None:
    """The LM simulator (and the base model when asked) on the first ``k`` held-out and
    ``k_dev`` dev scenes, every other chooser beside it on the same scenes."""
    import numpy as np

    from agent.simulators.choosers import accuracy, hits, paired_gap
    from agent.simulators.scenes import views

    extra = [lm] + ([lm.untrained] if lm.untrained is not None else [])
    mf = next(ch for ch in choosers if ch.name == "mf")
    for p, m in (("heldout", k), ("dev", k_dev)):
        if not m:
            continue
        sub = views(parts[p][:m], n)
        for ch in extra:
            t0 = time.perf_counter()
            picks = np.array([ch.pick(s, opts) for s, opts, _ in sub])
            h = (picks == np.array([ans for _, _, ans in sub])).astype(np.float64)
            row.setdefault(ch.name, {})[f"{p}_subset"] = {
                "accuracy": round(float(h.mean()), 4), "scenes": len(sub),
                "s_per_scene": round((time.perf_counter() - t0) / len(sub), 3),
                # how often it picks as each other chooser does: 1.0 = a copy of it
                "same_pick_as": {o.name: round(float(np.mean(
                    picks == np.array([o.pick(s, opts) for s, opts, _ in sub]))), 4)
                    for o in choosers if o.name in ("mf", "choice_model")}}
            if ch is lm:  # paired by scene, as the choice model's lead over MF is
                row.setdefault("lm_simulator_minus_mf", {})[p] = paired_gap(h, hits(mf, sub))
                cm = next((o for o in choosers if o.name == "choice_model"), None)
                if cm is not None:
                    row.setdefault("lm_simulator_minus_choice_model", {})[p] = paired_gap(
                        h, hits(cm, sub))
        for ch in choosers:
            row[ch.name][f"lm_{p}_subset"] = {"accuracy": round(accuracy(ch, sub), 4),
                                              "scenes": len(sub)}
    for ch in extra:
        row[ch.name]["accuracy"] = row[ch.name]["heldout_subset"]["accuracy"]


if __name__ == "__main__":
    main()
