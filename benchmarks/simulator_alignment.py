"""How well each simulator mirrors real users' choices (UserMirrorer protocol, held-out users).

Scenes come from a catalog's real ratings (``agent/simulators/scenes.py``): a user's history,
an exposure list of N items (the real next choice, popularity and look-alike negatives), the
real choice. Users are split by id hash: train (everything a chooser learns from), dev (early
stopping; what the features were chosen on) and heldout (never looked at while developing).
Every chooser is scored on the same lists in one run: random, popularity, MF (ALS on train
users, folded in from the history), the local LLM zero-shot (``--llm-scenes`` held-out scenes
per N, it costs seconds each on 2 cores), and the trained choice model.

    TASTEBUD_MIRROR=../shared/datasets python benchmarks/simulator_alignment.py \
        [--catalog movielens-small] [--llm-scenes 60]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", default="movielens-small")
    ap.add_argument("--llm-scenes", type=int, default=60,
                    help="held-out scenes per N the LLM answers (0: skip it)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

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
    llm = None
    if args.llm_scenes:
        from agent.llm import get_chat_model, get_llm_settings

        llm = LLMChooser(get_chat_model(get_llm_settings()))
        llm.fit(world, parts["train"])
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
        out["choices"][str(n)] = row
    json.dump(out, sys.stdout, indent=2)
    print()
    return out


if __name__ == "__main__":
    main()
