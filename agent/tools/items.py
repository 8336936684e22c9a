"""Shared helpers: item cards (id + title) and resolving what the model calls an item."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast, overload

import numpy as np

from agent.tools.base import ToolError
from recsys.catalog import Catalog

ITEM_REF = {"type": "string", "minLength": 1,
            "description": "An item id from an earlier tool result, or the item's exact title."}
MAX_SHOWN = 50  # items listed in one result: more would flood the model's context


@overload
def as_ids(items: np.ndarray) -> Sequence[int]: ...
@overload
def as_ids(items: None) -> None: ...
def as_ids(items: np.ndarray | None) -> Sequence[int] | None:
    """An index array typed as the ``Sequence[int]`` the recsys APIs take (they accept arrays)."""
    return cast("Sequence[int] | None", items)


def card(catalog: Catalog, item: int, score: float | None = None) -> dict[str, Any]:
    """The smallest JSON view of an item: catalog id, title, year (and a score)."""
    out: dict[str, Any] = {"id": catalog.item_ids[item], "title": catalog.titles[item],
                           "year": catalog.year(item)}
    if score is not None:
        out["score"] = round(float(score), 4)
    return out


def cards(catalog: Catalog, items: Sequence[int] | np.ndarray,
          scores: Sequence[float] | np.ndarray | None = None) -> list[dict[str, Any]]:
    if scores is None:
        return [card(catalog, int(i)) for i in items]
    return [card(catalog, int(i), float(s)) for i, s in zip(items, scores, strict=True)]


_YEAR = re.compile(r"\s*\(\d{4}(?:[-\u2013]\d{0,4})?\)\s*$")
_ARTICLE = re.compile(r"^(?P<rest>.*), (?P<art>the|a|an|les|la|le|il|el|der|die|das)$")


HINT_MAX_ITEMS = 50_000


def title_key(title: str) -> str:
    """A title as people type it: no "(1999)" suffix, "Matrix, The" read as "the matrix"."""
    t = _YEAR.sub("", title).strip().casefold()
    if m := _ARTICLE.match(t):
        t = f"{m['art']} {m['rest']}"
    return " ".join(t.split())


def title_indexes(catalog: Catalog) -> tuple[dict[str, int], dict[str, list[int]]]:
    """(exact folded title -> item, loose title key -> items), cached on the catalog."""
    cached = catalog.__dict__.get("_tool_title_index")
    if cached is None:  # built once per catalog, ~20 ms for 10k titles
        exact: dict[str, int] = {}
        loose: dict[str, list[int]] = {}
        for i, t in enumerate(catalog.titles):
            exact.setdefault(t.casefold().strip(), i)
            loose.setdefault(title_key(t), []).append(i)
        cached = catalog.__dict__["_tool_title_index"] = (exact, loose)
    return cached


def resolve_item(catalog: Catalog, ref: str) -> int:
    """Dense index of the item with catalog id ``ref``, else with title ``ref``.

    A title matches exactly (any case), or without its year and with a trailing article
    moved to the front ("The Matrix" finds "Matrix, The (1999)") when that is unambiguous.
    """
    ref = str(ref).strip()
    if ref in catalog.item_index:
        return catalog.item_index[ref]
    exact, loose = title_indexes(catalog)
    if (found := exact.get(ref.casefold())) is not None:
        return found
    hits = loose.get(title_key(ref), [])
    if len(hits) == 1:
        return hits[0]
    if hits:
        listed = ", ".join(f"'{catalog.titles[i]}' (id {catalog.item_ids[i]})" for i in hits[:5])
        raise ToolError(f"'{ref}' names {len(hits)} items: {listed}; pass one of these ids")
    import difflib

    # close titles as a hint, where comparing with every title is quick (not at 1M items)
    close = difflib.get_close_matches(ref, catalog.titles, n=3, cutoff=0.6) \
        if catalog.n_items <= HINT_MAX_ITEMS else []
    hint = (f"; close titles: {', '.join(repr(t) for t in close)}" if close
            else "; use an id from a search_items or filter_items result")
    raise ToolError(f"no item with id or title '{ref}' in catalog '{catalog.name}'{hint}")


def resolve_items(catalog: Catalog, refs: Sequence[str]) -> np.ndarray:
    return np.array([resolve_item(catalog, r) for r in refs], dtype=np.int64)
