"""NLU benchmark: slot P/R/F1 and turn-kind accuracy of rules, LLM and hybrid extraction.

    TASTEBUD_MIRROR=../shared/datasets python benchmarks/nlu.py [--variants rules,llm,hybrid]

Runs on ``tests/data/nlu_movielens.jsonl`` against the MovieLens catalog, as if 5 items were
on screen (so "the last one" is 5), and prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.nlu.hybrid import understand
from agent.nlu.lexicon import Lexicon, lexicon_for
from agent.nlu.llm import llm_extract
from agent.nlu.request import Request
from agent.nlu.rules import extract
from agent.nlu.scoring import evaluate, load_examples

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "nlu_movielens.jsonl"
SHOWN = 5
VARIANTS = ("rules", "llm", "hybrid")


def parser(variant: str, lex: Lexicon, model: str, shown: int | None = SHOWN
           ) -> Callable[[str], Request]:
    """The text -> Request function of one variant."""
    if variant == "rules":
        return lambda t: extract(t, lex, shown=shown).request
    from agent.llm.base import LLMError
    from agent.llm.llamacpp import LlamaCppChatModel

    llm = _models.setdefault(model, LlamaCppChatModel(model))
    if variant == "hybrid":
        return lambda t: understand(t, lex, llm=llm, shown=shown)

    def only_llm(t: str) -> Request:
        try:
            return llm_extract(t, lex, llm, shown=shown)
        except LLMError:
            return Request(kind="chitchat")  # an unusable reply scores as an empty request

    return only_llm


_models: dict[str, Any] = {}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help="comma-separated subset of " + ",".join(VARIANTS))
    ap.add_argument("--catalog", default="movielens-small")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--model", default="qwen2.5-coder-0.5b", help="local GGUF model name")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N examples")
    ap.add_argument("--errors", action="store_true", help="include the misparsed examples")
    ap.add_argument("--split", default="all", choices=("all", "dev", "heldout"),
                    help="score one part of the set; the held-out part is for reporting only")
    ap.add_argument("--shown", type=int, default=SHOWN,
                    help="items on screen (0 for the ReDial set: its seekers saw no list)")
    args = ap.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        ap.error(f"unknown variant(s) {bad}; choose from {list(VARIANTS)}")

    from recsys.catalogs import open_catalog

    catalog = open_catalog(args.catalog, progress=False)
    t0 = time.perf_counter()
    lex = lexicon_for(catalog)
    examples = load_examples(args.data)
    splits = sorted({e.split for e in examples})
    if args.limit:
        examples = examples[:args.limit]
    data = args.data.resolve()
    out: dict[str, Any] = {
        "catalog": args.catalog, "n": len(examples), "model": args.model,
        "data": str(data.relative_to(REPO)) if data.is_relative_to(REPO) else str(data),
        "lexicon_build_s": round(time.perf_counter() - t0, 3)}
    parts = splits if args.split == "all" else [args.split]
    for v in variants:
        parse = parser(v, lex, args.model, args.shown or None)
        for part in parts:
            chosen = [e for e in examples if e.split == part]
            t = time.perf_counter()
            res = evaluate(chosen, parse)
            res["seconds_per_utterance"] = round((time.perf_counter() - t) / max(1, len(chosen)),
                                                 4)
            if not args.errors or part == "heldout":
                res.pop("errors")  # held-out mistakes are never printed: no peeking
            out[v if len(splits) == 1 else f"{v}/{part}"] = res
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
