"""Slot precision/recall/F1 (micro over (slot, value) pairs) and turn-kind accuracy."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.nlu.lexicon import normalize
from agent.nlu.request import Request


def slot_pairs(req: Request) -> set[tuple[str, str]]:
    """The (slot, value) pairs of a request; attribute values compared normalised."""
    pairs: set[tuple[str, str]] = set()
    for slot, bucket in (("include", req.include), ("exclude", req.exclude)):
        for fld, values in bucket.items():
            pairs |= {(f"{slot}.{fld}", normalize(v)) for v in values}
    if req.year_min is not None:
        pairs.add(("year_min", str(req.year_min)))
    if req.year_max is not None:
        pairs.add(("year_max", str(req.year_max)))
    pairs |= {("title", t) for t in req.titles}
    pairs |= {("ref", str(r)) for r in req.refs}
    pairs |= {("feedback", f"{k}={v}") for k, v in req.feedback.items()}
    if req.free_text:
        pairs.add(("free_text", normalize(req.free_text)))
    return pairs


@dataclass
class Example:
    text: str
    expected: Request
    split: str = "dev"  # "heldout": never looked at while developing the rules


def load_examples(path: Path) -> list[Example]:
    """Read an annotated JSONL file ({"text": ..., "expected": Request JSON} per line)."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(Example(row["text"], Request.from_json(row["expected"]),
                               str(row.get("split") or "dev")))
        except (json.JSONDecodeError, KeyError) as e:
            raise ValueError(f"{path} line {n}: not an annotated example ({e})") from e
    return out


def evaluate(examples: Iterable[Example], parse: Callable[[str], Request]) -> dict[str, Any]:
    """Micro slot P/R/F1 over all examples, kind accuracy, and per-slot-type counts."""
    tp = fp = fn = correct = n = exact = 0
    per: dict[str, list[int]] = {}
    errors: list[dict[str, Any]] = []
    for ex in examples:
        got = parse(ex.text)
        g, e = slot_pairs(got), slot_pairs(ex.expected)
        tp += len(g & e)
        fp += len(g - e)
        fn += len(e - g)
        for s, _ in g | e:
            per.setdefault(s.split(".")[0], [0, 0, 0])
        for s, _ in g & e:
            per[s.split(".")[0]][0] += 1
        for s, _ in g - e:
            per[s.split(".")[0]][1] += 1
        for s, _ in e - g:
            per[s.split(".")[0]][2] += 1
        n += 1
        correct += got.kind == ex.expected.kind
        exact += g == e and got.kind == ex.expected.kind
        if g != e or got.kind != ex.expected.kind:
            errors.append({"text": ex.text, "kind": [got.kind, ex.expected.kind],
                           "extra": sorted(map(list, g - e)), "missed": sorted(map(list, e - g))})
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"n": n, "slot_precision": round(p, 4), "slot_recall": round(r, 4),
            "slot_f1": round(f1, 4), "kind_accuracy": round(correct / n, 4) if n else 0.0,
            "exact": round(exact / n, 4) if n else 0.0,  # kind and every slot right
            "per_slot_tp_fp_fn": per, "errors": errors}
