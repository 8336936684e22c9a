"""filter_items: hard conditions (attribute values, years, exclusions) through SQL."""

from __future__ import annotations

from typing import Any

import numpy as np

from agent.tools.base import Tool, ToolError
from agent.tools.bus import Deferred, ToolContext
from agent.tools.items import MAX_SHOWN, as_ids, cards, resolve_items
from recsys.catalog import Catalog

# on a catalog larger than LIST_ALL_UP_TO, a condition passing more than LIST_MAX items is not
# listed: the next ranking checks its best items against it in SQL (a list this long costs a
# few ms; a third of 1M items, a second). A smaller catalog is always listed: the same lists,
# and the search fuses its ranks among exactly the items that pass
LIST_MAX = 2_000
LIST_ALL_UP_TO = 50_000
_VALUES = {"type": "object", "additionalProperties": {"type": "array",
                                                       "items": {"type": "string"}}}


def canonical_values(catalog: Catalog, spec: dict[str, list[str]], arg: str
                     ) -> dict[str, list[str]]:
    """``spec`` with field names checked and values mapped to the catalog's spelling."""
    out: dict[str, list[str]] = {}
    for fld, values in spec.items():
        attrs = catalog.attributes.get(fld)
        if attrs is None:
            raise ToolError(f"filter_items: {arg}: unknown field '{fld}'; "
                            f"fields: {', '.join(catalog.attributes)}")
        key = f"_tool_fold_{fld}"  # cached on the catalog: one dict per field
        folded = catalog.__dict__.get(key)
        if folded is None:
            folded = catalog.__dict__[key] = {v.casefold(): v for v in attrs.values}
        good = []
        for v in values:
            hit = folded.get(str(v).casefold().strip())
            if hit is None:
                import difflib

                close = difflib.get_close_matches(str(v), attrs.values, n=5, cutoff=0.5)
                sample = close or attrs.values[:10]
                raise ToolError(f"filter_items: {arg}: '{fld}' has no value '{v}'; "
                                f"{'close' if close else 'e.g.'}: {', '.join(sample)}")
            good.append(hit)
        out[fld] = good
    return out


class FilterItems(Tool):
    name = "filter_items"
    description = ("Keep only the candidate items that meet hard conditions: attribute values "
                   "to include (any of the values of a field, all fields) or exclude, a year "
                   "range, item ids to leave out. Narrows the current candidates.")
    inputs = {
        "type": "object",
        "properties": {
            "include": {**_VALUES,
                        "description": "field -> values, e.g. {\"genre\": [\"Comedy\"]}"},
            "exclude": {**_VALUES, "description": "field -> values the items must not have"},
            "year_min": {"type": "integer", "description": "earliest year, inclusive"},
            "year_max": {"type": "integer", "description": "latest year, inclusive"},
            "exclude_items": {"type": "array", "items": {"type": "string"},
                              "description": "item ids to leave out"},
            "ranges": {"type": "object",
                       "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2,
                                                "items": {"type": ["number", "null"]}},
                       "description": "number field -> [lowest, highest], null for open, "
                                      "e.g. {\"runtime\": [null, 120]}"},
            "audience": {"type": "string",
                         "description": "only items suiting this audience, e.g. 'child'"},
            "show": {"type": "integer", "minimum": 0, "maximum": MAX_SHOWN, "default": 10,
                     "description": "how many of the matching items to list"},
        },
        "additionalProperties": False,
    }
    moves_bus = True

    def run(self, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        from recsys.filters import filter_items

        cat = ctx.catalog
        inc = canonical_values(cat, args.get("include", {}), "include")
        exc = canonical_values(cat, args.get("exclude", {}), "exclude")
        lo, hi = args.get("year_min"), args.get("year_max")
        if lo is not None and hi is not None and lo > hi:
            raise ToolError(f"filter_items: year_min {lo} is after year_max {hi}")
        skip = resolve_items(cat, args.get("exclude_items", []))
        ranges = {}
        for fld, bounds in (args.get("ranges") or {}).items():
            if fld not in cat.numbers:
                raise ToolError(f"filter_items: ranges: '{fld}' is not a number field; "
                                f"number fields: {', '.join(cat.numbers) or 'none'}")
            a, b = bounds
            if a is not None and b is not None and a > b:
                raise ToolError(f"filter_items: ranges: {fld} lowest {a} is above highest {b}")
            ranges[fld] = (a, b)
        suits = None
        if args.get("audience"):
            from recsys.audience import suitable
            from recsys.errors import UnknownNameError

            try:
                suits = suitable(cat, str(args["audience"]))
            except UnknownNameError as e:
                raise ToolError(f"filter_items: audience: {e}") from None
        db, within, prev = ctx.db(), ctx.bus.sorted_items(), ctx.bus.deferred

        def sql(ids: np.ndarray | None, limit: int | None = None) -> np.ndarray:
            return filter_items(db, cat.name, include=inc, exclude=exc, year_min=lo,
                                year_max=hi, within=as_ids(ids), exclude_items=as_ids(skip),
                                ranges=ranges, limit=limit)

        def suited(ids: np.ndarray) -> np.ndarray:
            return ids if suits is None else ids[suits[ids]]

        if within is None and cat.n_items > LIST_ALL_UP_TO:
            # the whole catalog: list it only when it is short; a broad condition is checked
            # on the best-ranked items by the next tool instead (see Deferred)
            found = sql(None, limit=LIST_MAX + 1)
            if len(found) > LIST_MAX:
                def check(ids: np.ndarray) -> np.ndarray:
                    ok = suited(sql(np.unique(ids)))
                    return ok if prev is None else prev.check(ok)

                ctx.bus.deferred = Deferred(check, len(found), _holding(cat, inc, prev))
                shown = suited(found)[:args["show"]]
                return {"count": len(found), "at_least": True, "items": cards(cat, shown)}
            found = suited(found)
        else:
            found = suited(sql(within))
        if within is None and prev is not None:  # a broad filter before this one still holds
            found = np.sort(np.asarray(prev.check(found), np.int64))
        if ctx.bus.items is not None:  # keep the order the previous tool ranked them in
            found = ctx.bus.items[np.isin(ctx.bus.items, found)]
        ctx.bus.set(found)
        return {"count": len(found), "items": cards(cat, found[:args["show"]])}


def _holding(cat: Any, inc: dict[str, list[str]], prev: Deferred | None) -> np.ndarray | None:
    """Sorted items holding one of the wished values of the narrowest include field (every
    item the filter passes is among them), within an earlier broad filter's; None without
    an include."""
    sets = [np.unique(np.concatenate([cat.attributes[f].items_with(v) for v in vals]))
            for f, vals in inc.items() if vals and f in cat.attributes]
    out = min(sets, key=len) if sets else None
    if prev is not None and prev.within is not None:
        out = prev.within if out is None else np.intersect1d(out, prev.within)
    return None if out is None else out.astype(np.int64)
