"""Do replies name only real, returned items? 200 simulated turns with the local LLM.

Simulated users (``agent.simulators.chat``) talk to the manager on the demo catalog. Every
reply is checked by this script's own reader, independent of the manager's reflection step:

- a "Title (YYYY)" or a quoted/bold phrase must be a catalog title (or the user's own words,
  e.g. a title echoed as not found); naming anything else counts as a hallucinated item;
- a catalog title named in the text must be one the turn's tools returned.

Baseline, side by side in the same run: the model's first drafts before reflection (what the
user would have read without it), counted by the manager's check.

    TASTEBUD_MIRROR=/work/shared/datasets python benchmarks/grounding.py [--turns 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections import Counter
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TASTEBUD_MIRROR", "/work/shared/datasets")



def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=200)
    ap.add_argument("--catalog", default="movielens-small")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show", type=int, default=0, help="print N caught first drafts")
    args = ap.parse_args(argv)

    from agent.llm import get_chat_model
    from agent.manager import Manager
    from agent.manager.grounding import audit
    from agent.simulators.chat import drive

    llm = get_chat_model()
    manager = Manager.open(args.catalog, llm=llm, progress=True).warm()
    records = drive(manager, args.turns, seed=args.seed)
    cat = manager.catalog
    failures = []
    for r in records:
        returned = set(r["grounded_items"])
        bad = audit(r["text"], r["said"], returned, cat)
        if bad:
            failures.append({"said": r["said"], "reply": r["text"], "problems": bad})
    drafts_caught = [r for r in records if r["problems"]]
    by_llm = [r for r in records if r["reply_source"] != "template" or r["problems"]]
    out = {
        "model": llm.name, "catalog": args.catalog, "turns": len(records),
        "replies_naming_unreal_or_unreturned_items": len(failures),
        "replies_written_by_llm": sum(r["reply_source"] != "template" for r in records),
        "llm_turns": len(by_llm),
        "baseline_first_drafts_failing_check": len(drafts_caught),
        "baseline_rate": round(len(drafts_caught) / max(len(by_llm), 1), 3),
        "problems_caught": dict(Counter(p.split("'")[0].strip() or p.split(" ")[0]
                                        for r in drafts_caught for p in r["problems"])
                                .most_common(6)),
        "reply_sources": dict(Counter(r["reply_source"] for r in records)),
        "actions": dict(Counter(r["action"] for r in records)),
        "failures": failures[:10],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    if args.show:
        out["caught_examples"] = [{"said": r["said"], "problems": r["problems"][:2]}
                                  for r in drafts_caught[:args.show]]
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return out


if __name__ == "__main__":
    main()
