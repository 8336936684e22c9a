"""Full chat-turn latency with the local LLM, beside the same turns without an LLM.

Simulated users (``agent.simulators.chat``) hold conversations on the demo catalog: one
manager uses the default local model for understanding gaps and for the reply (reflection
included), the baseline manager shares every tool and model but answers with the template
(no LLM). One JSON object goes to stdout; progress bars to stderr.

    TASTEBUD_MIRROR=/work/shared/datasets python benchmarks/turn_latency.py [--turns 40]

The issue's targets: full turn p50 <= 2.5 s on 2 cores; tools-only turn p95 <= 100 ms; the
first words of a reply p50 <= 1.5 s (``first_text_s``: from the message to the first text).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections import Counter
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TASTEBUD_MIRROR", "/work/shared/datasets")


def pct(values: list[float], digits: int = 3) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    return {"p50": round(float(np.percentile(a, 50)), digits),
            "p95": round(float(np.percentile(a, 95)), digits)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=40)
    ap.add_argument("--catalog", default="movielens-small")
    ap.add_argument("--model", default=None, help="local model name (default: settings)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--style", default=None, help="reply style (default: settings)")
    args = ap.parse_args(argv)

    from agent.llm import get_chat_model, get_llm_settings
    from agent.manager import Manager
    from agent.simulators.chat import drive

    s = get_llm_settings()
    if args.model:
        s = s.model_copy(update={"model": args.model})
    llm = get_chat_model(s)
    with_llm = Manager.open(args.catalog, llm=llm, progress=True, reply_style=args.style)
    baseline = Manager(with_llm.base, llm=None)
    print(f"warming up {llm.name} ...", file=sys.stderr)
    with_llm.warm()  # loads the model, caches the prompt prefixes (a server does this too)

    base = drive(baseline, args.turns, seed=args.seed)
    full = drive(with_llm, args.turns, seed=args.seed)
    tokens = sum(r["llm_tokens"] for r in full)
    llm_s = sum(r["llm_s"] for r in full)
    out = {
        "model": llm.name, "catalog": args.catalog, "turns": len(full),
        "reply_style": with_llm.reply_style,
        "full_turn_s": pct([r["ms"] / 1e3 for r in full]),
        "first_text_s": pct([r["first_text_ms"] / 1e3 for r in full
                             if r["first_text_ms"] is not None]),
        "first_text_s_baseline": pct([r["first_text_ms"] / 1e3 for r in base
                                      if r["first_text_ms"] is not None]),
        "text_chunks_p50": float(np.median([r["text_chunks"] for r in full])),
        "tools_only_ms": pct([r["ms"] for r in base], 2),
        "tools_in_full_turn_ms": pct([r["tools_ms"] for r in full], 2),
        "tokens_per_s": round(tokens / llm_s, 1) if llm_s else None,
        "reply_tokens_mean": round(tokens / max(len(full), 1), 1),
        "reply_sources": dict(Counter(r["reply_source"] for r in full)),
        "actions": dict(Counter(r["action"] for r in full)),
        "baseline": "same turns, same tools, template reply and rules-only understanding",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                   f"threads={s.n_threads or os.cpu_count()}",
    }
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
