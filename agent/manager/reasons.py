"""Why each item on a list fits, in a few words a person reads: one short clause per item.

Every clause comes from the catalog and the conversation, so it is true by construction:
what the item shares with the films the person named ("like Toy Story: directed by John
Lasseter too"), which of the asked-for values it has, what it is known for, and how the
catalog's own raters judge it. A human recommender in ReDial says the same kinds of things.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recsys.catalog import Catalog
from recsys.describe import telling
from recsys.titles import item_name, short_title


def lower_value(v: str) -> str:
    """ "Sci-Fi" -> "sci-fi" mid-sentence; names and acronyms stay as they are."""
    return v.lower() if v[:1].isupper() and not v.isupper() and " " not in v else v

MAX_CLAUSES = 2


_RATINGS: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}


def _ratings(catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
    """Per item: how many raters, and their mean rating (nan without explicit ratings)."""
    key = (id(catalog), catalog.fingerprint)
    if key not in _RATINGS:
        _RATINGS.clear()  # one catalog per process at a time, in practice
        _RATINGS[key] = _count_and_mean(catalog)
    return _RATINGS[key]


def warm_ratings(catalog: Catalog) -> None:
    """Count every item's raters now (a second at 1M items), not in the first turn."""
    _ratings(catalog)


def _count_and_mean(catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
    inter = catalog.interactions
    n = np.bincount(inter.items, minlength=catalog.n_items).astype(np.float64)
    if inter.ratings is None or np.isnan(inter.ratings).all():
        return n, np.full(catalog.n_items, np.nan)
    r = np.nan_to_num(inter.ratings.astype(np.float64))
    known = np.bincount(inter.items, weights=(~np.isnan(inter.ratings)).astype(np.float64),
                        minlength=catalog.n_items)
    s = np.bincount(inter.items, weights=r, minlength=catalog.n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        return n, np.where(known > 0, s / np.maximum(known, 1), np.nan)


def _shared_people(catalog: Catalog, a: int, b: int) -> str | None:
    for fld in sorted(catalog.fields_of_kind("people"),
                      key=lambda f: not (catalog.info(f).label or "").startswith("direct")):
        if fld not in catalog.attributes:
            continue
        common = [v for v in catalog.attributes[fld].of(a)[:5]
                  if v in set(catalog.attributes[fld].of(b)[:8])]
        if common:
            label = catalog.info(fld).label or fld
            if label.startswith("direct"):
                return f"{label} {common[0]} too"
            return f"also with {' and '.join(common[:2])}"
    return None


def _shared_values(catalog: Catalog, a: int, b: int) -> list[str]:
    mine = telling(catalog, a, k=8)
    theirs = set(telling(catalog, b, k=12))
    return [v for v in mine if v in theirs][:2]


def _asked(catalog: Catalog, item: int, constraints: Any, common: frozenset[str] = frozenset()
           ) -> list[str]:
    """The asked-for values the item has, in the person's order, less those every item on
    the list has (the opening said them already)."""
    have = catalog.item_attributes(item)
    out = []
    for fld, values in constraints.include.items():
        vals = {v.casefold() for v in have.get(fld, [])}
        out += [v for v in values if v.casefold() in vals]
    words = set((constraints.free_text or "").casefold().split())
    if words:
        for v in telling(catalog, item, k=12):
            if set(v.casefold().split()) & words and v not in out:
                out.append(v)
    out = [v for v in out if v not in common]
    # "music" beside "music business" says nothing more
    out = [v for v in out if not any(v != w and v.casefold() in w.casefold() for w in out)]
    return out[:2]


def why(catalog: Catalog, item: int, constraints: Any, liked: list[int],
        personalised: bool = False, common: frozenset[str] = frozenset()) -> str:
    """One short clause on why ``item`` is on the list (never empty)."""
    clauses: list[str] = []
    said_before: set[str] = set()  # words a clause said already: not again as "known for"
    seeds = [catalog.item_index[s] for s in constraints.seeds if s in catalog.item_index]
    for s in [*seeds, *liked]:
        if s == item:
            continue
        name = short_title(catalog.titles[s])
        people = _shared_people(catalog, item, s)
        shared = _shared_values(catalog, item, s)
        if people:
            clauses.append(f"like {name}: {people}")
            break
        if shared:
            clauses.append(f"like {name}, {' and '.join(shared)}")
            said_before.update(w for v in shared for w in v.casefold().split())
            break
    asked = _asked(catalog, item, constraints, common)
    if asked and len(clauses) < MAX_CLAUSES:
        clauses.append(f"{' and '.join(lower_value(v) for v in asked)}, as you asked")
    if len(clauses) < MAX_CLAUSES:
        said = {w for v in asked for w in v.casefold().split()} | set(
            (constraints.free_text or "").casefold().split()) | said_before
        known = [v for v in telling(catalog, item, k=4)
                 if not set(v.casefold().split()) & said][:2]
        if known:
            clauses.append(f"known for {' and '.join(known)}")
    n, mean = _ratings(catalog)
    if len(clauses) < MAX_CLAUSES and n[item] >= 20 and not np.isnan(mean[item]) \
            and mean[item] >= 3.9:
        clauses.append(f"rated {mean[item]:.1f}/5 by {int(n[item])} people here")
    if not clauses:
        genre = next((v for f, v in catalog.item_attributes(item).items()
                      if v and catalog.info(f).kind == "categorical"), [])
        base = "close to your taste" if personalised else "a favourite here"
        clauses.append(f"{base}" + (f" ({', '.join(genre[:2])})" if genre else ""))
    return "; ".join(clauses[:MAX_CLAUSES])


def lines(catalog: Catalog, items: list[int], constraints: Any, liked: list[int],
          personalised: bool = False) -> list[str]:
    """ "1. The Matrix (1999): like Alien, it has dystopia; rated 4.2/5 by 278 people here." """
    out = []
    each = [set(_asked(catalog, i, constraints)) for i in items]
    common = frozenset(set.intersection(*each)) if len(each) > 1 else frozenset()
    for k, i in enumerate(items, 1):
        out.append(f"{k}. {item_name(catalog, i)}: "
                   f"{why(catalog, i, constraints, liked, personalised, common)}.")
    return out
