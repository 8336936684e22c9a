"""Who words each reply best: the template, or a local model (0.5B, 1.5B) wording the opening
or the whole reply. The same real turns, every option, one blind judge, in one run.

Turns: the first seeker turns of ReDial dialogues (real crowd-worker requests, never the
human recommender's words), replayed through the dialogue manager; the lists are the same for
every option (tools are deterministic), only the words differ. Dialogues are split by id into
a dev half and a held-out half (the template was written on neither); both are reported.

The judge reads only the reply and the turn's facts (never which option wrote it):
- grounded: ``grounding.audit`` finds no item the tools did not return (plain titles too);
- why: on a list, each item is named with a reason (its line, or a clause after its title);
  on an explain turn, the item is named and a reason follows;
- clean: no prompt scaffolding ("Template:", "Items:", brackets), no cut-off, no repeats;
- length: 6-160 words on a list, 4-60 otherwise.
A turn's score is the share of the four it passes. Latency: first words and full reply.

    TASTEBUD_MIRROR=../shared/datasets python benchmarks/replies.py [--turns 60]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import sys
import time
from collections import Counter
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SCAFFOLD = re.compile(r"\b(?:template|draft|items|facts|request|reason)\s*:|\[[^\]]*\]|[{}]"
                      r"|\b1 \w+ picks\b|picks for [^.]*-\d{4}|\b(\w+) \1\b"
                      r"|(?:^|\s)\d+\.\s*$", re.I)  # ... "1." at the end: a list cut off


def split_of(dialogue_id: str) -> str:
    return "dev" if int(hashlib.sha1(dialogue_id.encode()).hexdigest(), 16) % 2 == 0 \
        else "heldout"


def judge(text: str, said: str, done: dict[str, Any], catalog: Any) -> dict[str, Any]:
    """The four criteria for one reply, from the reply and the turn's facts only."""
    from agent.manager.grounding import audit
    from recsys.titles import short_title

    bad = audit(text, said, set(done.get("grounded_items") or []), catalog)
    low = text.casefold()
    action = done.get("action")
    items = [catalog.item_index[i] for i in (done.get("shown") or [])]
    if action == "recommend" and items:
        named = 0
        for i in items:
            t = short_title(catalog.titles[i]).casefold()
            k = low.find(t)
            # named, and followed by some words of reason on the same line
            if k >= 0 and len(low[k + len(t):].split("\n")[0].split()) >= 3:
                named += 1
        why = named / len(items)
    elif action == "explain" and done.get("target") is not None:
        t = short_title(catalog.titles[catalog.item_index[done["target"]]]).casefold()
        why = 1.0 if t in low and len(text.split()) >= 6 else 0.0
    else:
        why = None
    stripped = text.strip()
    cut = bool(stripped) and not re.search(r"[.!?…)\"”]$", stripped)
    clean = not SCAFFOLD.search(text) and not cut and bool(stripped)
    words = len(text.split())
    length = 6 <= words <= 160 if action == "recommend" else 4 <= words <= 60
    checks = {"grounded": not bad, "clean": clean, "length": length}
    if why is not None:
        checks["why"] = why >= 0.8
    return {"score": float(np.mean(list(checks.values()))), **checks,
            "why_share": why, "invented": bad, "words": words}


def turns_from(dialogues: list[Any], per_dialogue: int, limit: int) -> list[tuple[str, list[str]]]:
    """(dialogue id, the first seeker messages) for dialogues with a real request."""
    out = []
    for d in dialogues:
        said = [d.text_of(t)[:1900] for t in d.turns if t.seeker][:per_dialogue]
        if len(said) == per_dialogue:
            out.append((d.id, said))
        if len(out) * per_dialogue >= limit:
            break
    return out


def run(manager: Any, convs: list[tuple[str, list[str]]], bar: Any) -> list[dict[str, Any]]:
    rows = []
    for did, said in convs:
        conv = manager.start(None)
        for text in said:
            t0 = time.perf_counter()
            r = manager.respond(conv, text)
            r["wall_ms"] = (time.perf_counter() - t0) * 1e3
            r["shown"] = list(conv.shown) if r.get("action") == "recommend" else []
            r["target"] = conv.focus if r.get("action") == "explain" else None
            rows.append({"dialogue": did, "split": split_of(did), "said": text, **r})
            bar.update(1)
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in ("dev", "heldout", "all"):
        rs = [r for r in rows if part == "all" or r["split"] == part]
        js = [r["judged"] for r in rs]
        ft = [r["first_text_ms"] for r in rs if r["first_text_ms"] is not None]
        out[part] = {
            "turns": len(rs),
            "score": round(float(np.mean([j["score"] for j in js])), 3),
            **{k: round(float(np.mean([j[k] for j in js if k in j])), 3)
               for k in ("grounded", "why", "clean", "length")
               if any(k in j for j in js)},
            "invented_items": sum(len(j["invented"]) for j in js),
            "words_p50": float(np.median([j["words"] for j in js])),
            "first_text_s_p50": round(float(np.median(ft)) / 1e3, 3) if ft else None,
            "turn_s_p50": round(float(np.median([r["ms"] for r in rs])) / 1e3, 3),
        }
    out["sources"] = dict(Counter(r["reply_source"] for r in rows))
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=60)
    ap.add_argument("--per-dialogue", type=int, default=2)
    ap.add_argument("--catalog", default="movielens-small")
    ap.add_argument("--dialogues", default=None,
                    help="ReDial-format file (default: the mirror's redial/dev_dialogues)")
    ap.add_argument("--models", default="qwen2.5-coder-0.5b,qwen2.5-coder-1.5b")
    ap.add_argument("--styles", default="opening,full")
    ap.add_argument("--examples", type=int, default=3, help="replies shown per option")
    args = ap.parse_args(argv)

    from tqdm import tqdm

    from agent.llm import get_chat_model, get_llm_settings
    from agent.manager import Manager
    from recsys.dialogues import read_dialogues
    from recsys.settings import get_settings

    mirror = os.environ.get("TASTEBUD_MIRROR", "../shared/datasets")
    path = args.dialogues or os.path.join(mirror, "redial", "dev_dialogues.jsonl")
    dialogues = read_dialogues(path)
    dev = [d for d in dialogues if split_of(d.id) == "dev"]
    held = [d for d in dialogues if split_of(d.id) == "heldout"]
    half = args.turns // 2
    convs = turns_from(dev, args.per_dialogue, half) + \
        turns_from(held, args.per_dialogue, args.turns - half)
    n_turns = sum(len(s) for _, s in convs)

    base = Manager.open(args.catalog, get_settings(), llm=None, progress=True)
    options: list[tuple[str, Any]] = [("template", Manager(base.base, llm=None,
                                                           reply_style="template"))]
    results: dict[str, Any] = {}
    examples: dict[str, list[dict[str, str]]] = {}
    for name, manager in options:
        rows = run(manager, convs, tqdm(total=n_turns, desc=f"replies: {name}", unit="turn"))
        _judge(rows, base.catalog)
        results[name], examples[name] = summary(rows), _examples(rows, args.examples)
    for model in [m for m in args.models.split(",") if m]:
        s = get_llm_settings().model_copy(update={"model": model})
        print(f"loading {model} ...", file=sys.stderr)
        llm = get_chat_model(s)
        for style in [x for x in args.styles.split(",") if x]:
            name = f"{style}-{model}"
            m = Manager(base.base, llm=llm, reply_style=style).warm()
            rows = run(m, convs, tqdm(total=n_turns, desc=f"replies: {name}", unit="turn"))
            _judge(rows, base.catalog)
            results[name], examples[name] = summary(rows), _examples(rows, args.examples)
        del llm
    best = max(results, key=lambda k: (results[k]["all"]["score"],
                                       -results[k]["all"]["turn_s_p50"]))
    out = {"turns": n_turns, "dialogues": len(convs), "file": os.path.basename(path),
           "criteria": "grounded (audit), why per item (>= 80% of items named with a reason), "
                       "clean (no scaffolding, no cut-off), length; score = share passed",
           "options": results, "best": best, "examples": examples,
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU"}
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return out


def _judge(rows: list[dict[str, Any]], catalog: Any) -> None:
    for r in rows:
        r["judged"] = judge(r["text"], r["said"], r, catalog)


def _examples(rows: list[dict[str, Any]], k: int) -> list[dict[str, str]]:
    picked = [r for r in rows if r.get("action") in ("recommend", "explain")][:k]
    return [{"said": r["said"][:120], "reply": r["text"]} for r in picked]


if __name__ == "__main__":
    main()
