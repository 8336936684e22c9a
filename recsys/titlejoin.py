"""Join side data that has no shared id by title and year ("Matrix, The (1999)" is the
Wikipedia row "The Matrix", 1999).

A wrong match is worse than none: a pair is kept only when it is unambiguous both ways (the
item has one candidate row and the row one candidate item); a year off by up to ``tolerance``
counts only for an item with no same-year candidate at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from recsys.titles import ARTICLES

_YEAR = re.compile(r"\(\s*\d{4}(?:\s*[-\u2013]\s*\d{0,4})?\s*\)")
_PAREN = re.compile(r"\(([^()]*)\)")
_AKA = re.compile(r"^\s*(?:a\.?k\.?a\.?|also known as)\s+", re.I)
_MOVED = re.compile(r"^(?P<body>.+?),\s+(?P<art>" + "|".join(re.escape(a) for a in ARTICLES)
                    + r")$")


def _plain(text: str) -> str:
    """Lowercase, accents stripped, '&' -> 'and', apostrophes dropped, other punctuation ->
    spaces, single spaces. Articles stay: "Killer!" (1990) is not "Killer, The" (1989)."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("&", " and ").replace("\u2019", "'").replace("'", "")
    return " ".join(re.sub(r"[^\w]+|_", " ", text).split())


def title_keys(title: str) -> list[str]:
    """Normalised names of one title: the main title, then each alternate in parentheses
    ("Seven (a.k.a. Se7en) (1995)" -> "seven", "se7en"). A year in parentheses is dropped and
    an article moved to the end comes back to the front ("Misérables, Les" -> "les
    miserables"), so both ways of writing a title give one key."""
    body = _YEAR.sub(" ", title)
    alts = [_AKA.sub("", a) for a in _PAREN.findall(body)]
    main = _PAREN.sub(" ", body)
    out: list[str] = []
    for name in [main, *alts]:
        name = " ".join(name.split())
        if m := _MOVED.match(name):
            art = m.group("art")
            name = f"{art}{'' if art.endswith(chr(39)) else ' '}{m.group('body')}"
        if (k := _plain(name)) and k not in out:
            out.append(k)
    return out


@dataclass
class TitleMatches:
    """What ``match_titles`` found: item -> row, and how many were left out as ambiguous."""

    pairs: dict[int, int] = field(default_factory=dict)
    near: int = 0  # of pairs, matched with the year off by 1..tolerance
    ambiguous: int = 0  # items with a candidate row, left unmatched


def match_titles(items: Sequence[tuple[list[str], int | None]],
                 rows: Sequence[tuple[list[str], int | None]], *, tolerance: int = 1,
                 use_years: bool = True, same: Sequence[object] | None = None
                 ) -> TitleMatches:
    """Pair catalog items with side rows, each given as (title keys, year).

    With ``use_years``, a side without a year never matches. An (item, row) pair is kept when
    they share a key, their years are equal, and neither has another same-year candidate;
    failing that, when the years differ by at most ``tolerance`` and neither has any other
    candidate within it (an exact-year candidate of the other side included). Rows with
    equal ``same`` values (what they would give an item) count as one candidate.
    """
    def year_of(y: int | None) -> int | None:
        return y if use_years else 0

    row_years = [year_of(y) for _, y in rows]
    item_years = [year_of(y) for _, y in items]
    rows_by_key: dict[str, list[int]] = {}
    for r, (keys, _) in enumerate(rows):
        if row_years[r] is not None:
            for k in keys:
                rows_by_key.setdefault(k, []).append(r)
    items_by_key: dict[str, list[int]] = {}
    for i, (keys, _) in enumerate(items):
        if item_years[i] is not None:
            for k in keys:
                items_by_key.setdefault(k, []).append(i)

    def within(a: int | None, b: int | None, gap: int) -> bool:
        return a is not None and b is not None and abs(a - b) <= gap

    def candidates(keys: list[str], year: int | None, index: dict[str, list[int]],
                   years: list[int | None], gap: int) -> set[int]:
        return {x for k in keys for x in index.get(k, ()) if within(years[x], year, gap)}

    out = TitleMatches()
    for i, (keys, _) in enumerate(items):
        y = item_years[i]
        if y is None:
            continue
        for gap in (0, tolerance) if tolerance else (0,):
            rs = candidates(keys, y, rows_by_key, row_years, gap)
            if not rs:
                continue
            r = min(rs)
            if len(rs) == 1 or same is not None and len({same[x] for x in rs}) == 1:
                back = {x for r2 in rs for x in candidates(rows[r2][0], row_years[r2],
                                                           items_by_key, item_years, gap)}
                if back == {i}:
                    out.pairs[i] = r
                    out.near += gap > 0
                    break
            out.ambiguous += 1
            break
    return out
