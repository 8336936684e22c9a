"""Numbers in a message: release years and decades, and references to shown items."""

from __future__ import annotations

import re

from agent.nlu.lexicon import wordset
from agent.nlu.request import Request

ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
            "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "1st": 1, "2nd": 2, "3rd": 3,
            "4th": 4, "5th": 5, "6th": 6, "7th": 7, "8th": 8, "9th": 9, "10th": 10,
            "top": 1}
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10}
DECADE_WORDS = {"twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60,
                "seventies": 70, "eighties": 80, "nineties": 90}
# nouns for a shown item ("the last one"); the catalog's own ("movie") join them
ITEM_NOUNS = wordset("one pick option suggestion recommendation title")


def _decade(w: str) -> int | None:
    """Start year of a decade token: '90s', '1990s', "80's", 'nineties', '2000s'."""
    m = re.fullmatch(r"(19|20)?(\d)0(?:s|'s)", w)
    if m:
        century = m.group(1)
        d = int(m.group(2)) * 10
        if century:
            return int(century) * 100 + d
        return 2000 + d if d < 30 else 1900 + d
    if w in DECADE_WORDS:
        return 1900 + DECADE_WORDS[w]
    return None


def years(words: list[str], req: Request, used: set[int]) -> None:
    n = len(words)
    i = 0
    while i < n:
        if i in used:
            i += 1
            continue
        w = words[i]
        prev = words[i - 1] if i > 0 else ""
        prev2 = words[i - 2] if i > 1 else ""
        dec = _decade(w)
        if dec is not None:
            lo, hi = dec, dec + 9
            if prev in ("early", "late", "mid") or (prev == "the" and prev2 in ("early", "late",
                                                                                  "mid")):
                q = prev if prev != "the" else prev2
                lo, hi = {"early": (lo, lo + 4), "late": (lo + 5, hi), "mid": (lo + 3, lo + 7)}[q]
            rel = prev if prev not in ("the", "early", "late", "mid") else prev2
            _set_range(req, _flip(rel, words, i), lo, hi)
            used.add(i)
            i += 1
            continue
        if re.fullmatch(r"(18|19|20)\d\d", w):
            y = int(w)
            # "between 1980 and 1990", "from 1980 to 1990", "1980 - 1990"
            if i + 2 < n and words[i + 1] in ("and", "to", "through", "till", "until") and \
                    re.fullmatch(r"(18|19|20)\d\d", words[i + 2]):
                req.year_min, req.year_max = y, int(words[i + 2])
                used.update({i, i + 2})
                i += 3
                continue
            _set_range(req, _flip(prev if prev != "the" else prev2, words, i), y, y)
            used.add(i)
        i += 1


_BOUND_NEG = ("nothing", "no", "not", "none", "never")
_FLIPPED = {"before": "since", "pre": "since", "older": "since", "earlier": "since",
            "after": "until", "post": "until", "newer": "until", "later": "until"}


def _flip(rel: str, words: list[str], i: int) -> str:
    """"nothing before 1990" is "since 1990"; "no films after 1979" is "until 1979"."""
    if rel in _FLIPPED and any(w in _BOUND_NEG for w in words[max(0, i - 4):i - 1]):
        return _FLIPPED[rel]
    return rel


def _set_range(req: Request, rel: str, lo: int, hi: int) -> None:
    if rel in ("no", "not", "without", "except", "nothing"):
        # "no 80s stuff": a range to avoid, which one min/max pair cannot say; leave it open.
        return
    if rel in ("after", "post", "newer", "later"):
        req.year_min = hi + 1
    elif rel in ("since",):
        req.year_min = lo
    elif rel in ("before", "pre", "older", "earlier"):
        req.year_max = lo - 1
    elif rel in ("until", "till", "through"):
        req.year_max = hi
    else:
        req.year_min, req.year_max = lo, hi


def refs(words: list[str], req: Request, used: set[int], n_shown: int | None,
         nouns: frozenset[str] = ITEM_NOUNS) -> None:
    """Shown items named by position ("number 2", "the first one", "the last movie");
    ``nouns``: what an item may be called, the catalog's words for its items included."""
    n = len(words)
    for i, w in enumerate(words):
        if i in used:
            continue
        nxt = words[i + 1] if i + 1 < n else ""
        prev = words[i - 1] if i > 0 else ""
        ref: int | None = None
        if w in ("#", "number", "no", "option", "num") and (nxt.isdigit() or
                                                            (w != "no" and nxt in NUMBERS)):
            ref = int(nxt) if nxt.isdigit() else NUMBERS[nxt]
            used.update({i, i + 1})
        elif w in ORDINALS and (nxt in nouns or prev == "the" or nxt in ("", ",")):
            if w == "top" and nxt not in nouns:
                continue
            ref = ORDINALS[w]
            used.add(i)
        elif w == "last" and (nxt in nouns or (prev == "the" and nxt in ("", ","))):
            ref = n_shown if n_shown else -1
            used.add(i)
        if ref is not None and ref != 0 and ref not in req.refs and (
                n_shown is None or ref <= n_shown or ref == -1):
            req.refs.append(ref)
