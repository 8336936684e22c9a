"""Length wishes: "under two hours", "less than 90 minutes", "not too long"."""

from __future__ import annotations

import re

from agent.nlu.lexicon import Lexicon
from agent.nlu.request import Request

_NUM = {"a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0,
        "ninety": 90.0, "hundred": 100.0}
_UPPER = r"(?:under|less than|shorter than|no longer than|not longer than|no more than|" \
         r"not more than|at most|max|maximum|up to|below|within|tops)"
_LOWER = r"(?:over|more than|longer than|at least|above)"
# "two hours", "one and a half hours", "an hour and a half"
_AMOUNT = r"(\d+(?:\.\d+)?|a|an|one|two|three|four|ninety|hundred)( and a half)? " \
          r"(hours?|hrs?|h|minutes?|mins?|m)\b( and a half)?"
_BOUND = re.compile(rf"\b({_UPPER}|{_LOWER}) {_AMOUNT}")
_TRAILING = re.compile(rf"\b{_AMOUNT} (or less|or shorter|max|tops|or more|or longer)\b")
_SHORT = re.compile(r"\b(not too long|nothing too long|something short|a short one|"
                    r"on the short side|not very long|quick watch)\b")
SHORT_MINUTES = 100.0  # "not too long": shorter than most feature films (median ~105 min)


def _minutes(amount: str, half: str | None, unit: str) -> float:
    n = float(amount) if amount[0].isdigit() else _NUM[amount]
    if half:
        n += 0.5
    return n * 60 if unit.startswith("h") else n


def durations(norm: str, lex: Lexicon, req: Request) -> list[str]:
    """Put the length bounds said into ``req.ranges`` (the catalog's runtime field); returns
    the phrases used, so nothing else reads their words ("hours" is no tag)."""
    fld = lex.duration_field
    if fld is None:
        return []
    lo = hi = None
    used = []
    for m in _BOUND.finditer(norm):
        v = _minutes(m.group(2), m.group(3) or m.group(5), m.group(4))
        if re.fullmatch(_LOWER, m.group(1)):
            lo = v
        else:
            hi = v
        used.append(m.group(0))
    for m in _TRAILING.finditer(norm):
        v = _minutes(m.group(1), m.group(2) or m.group(4), m.group(3))
        if m.group(5) in ("or more", "or longer"):
            lo = v
        else:
            hi = v
        used.append(m.group(0))
    if hi is None and (m2 := _SHORT.search(norm)):
        hi = SHORT_MINUTES
        used.append(m2.group(0))
    if lo is not None or hi is not None:
        req.ranges[fld] = [lo, hi]
    return used
