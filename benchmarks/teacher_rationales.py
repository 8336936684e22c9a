"""Teacher rationales for train scenes, kept where the teacher's majority is the real choice.

Draws ``--scenes`` train scenes (seeded) at list size ``--n``, asks the teacher model
``--samples`` times per scene (``agent/simulators/teacher.py``), measures the student's
uncertainty with the trained choice model (softmax entropy over the options), and writes
``kept.jsonl`` + ``card.json`` to ``--out`` (default
``<data_dir>/simulators/teacher/<catalog>-n<N>``). Prints the card.

    TASTEBUD_MIRROR=../shared/datasets python benchmarks/teacher_rationales.py \
        [--catalog movielens-small] [--scenes 40] [--samples 3] [--model qwen2.5-coder-0.5b]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", default="movielens-small")
    ap.add_argument("--scenes", type=int, default=40, help="train scenes the teacher reads")
    ap.add_argument("--n", type=int, default=5, help="options per scene")
    ap.add_argument("--samples", type=int, default=3, help="teacher answers per scene")
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--backend", default=None, help="llamacpp / transformers / openai "
                    "(default: TASTEBUD_LLM_BACKEND)")
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import numpy as np

    from agent.llm import get_chat_model, get_llm_settings
    from agent.simulators.choice_model import ChoiceModel
    from agent.simulators.scenes import build_scenes
    from agent.simulators.teacher import Teacher, write_kept
    from recsys.catalogs import open_catalog
    from recsys.settings import get_settings

    catalog = open_catalog(args.catalog)
    sset = build_scenes(catalog, seed=args.seed, progress=None)
    train = sset.scenes["train"]
    rng = np.random.default_rng(args.seed)
    picked = [train[i] for i in sorted(rng.choice(len(train), min(args.scenes, len(train)),
                                                  replace=False))]
    student = ChoiceModel(seed=args.seed, progress=None).fit(sset.world, train,
                                                             sset.scenes["dev"])
    settings = get_llm_settings().model_copy(update={
        "model": args.model, **({"backend": args.backend} if args.backend else {})})
    llm = get_chat_model(settings)
    if hasattr(llm, "load"):
        llm.load()  # so the per-scene seconds are calls, not the load
    teacher = Teacher(llm, samples=args.samples, temperature=args.temperature,
                      max_tokens=args.max_tokens, seed=args.seed)
    t0 = time.perf_counter()
    taught = teacher.teach(sset.world, picked, args.n, student=student, progress=None)
    wall = time.perf_counter() - t0
    out = args.out or (get_settings().data_dir / "simulators" / "teacher"
                       / f"{args.catalog}-n{args.n}")
    _, card_path = write_kept(taught, out, teacher=f"{settings.backend}:{args.model}",
                              student="choice_model (softmax entropy over the options)",
                              extra={"catalog": args.catalog, "n_options": args.n,
                                     "temperature": args.temperature,
                                     "max_tokens": args.max_tokens, "wall_s": round(wall, 1),
                                     "cores": os.cpu_count(), "seed": args.seed})
    card = json.loads(card_path.read_text())
    card["folder"] = str(out)
    json.dump(card, sys.stdout, indent=2)
    print()
    return card


if __name__ == "__main__":
    main()
