"""A filter too broad to list is checked on the best-ranked items instead (Deferred): the
same lists as listing it first, whichever tool ranks next and whoever asks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from agent.tools import ToolContext, execute
from recsys.catalog import Catalog
from recsys.settings import Settings
from tests.agent.tools.helpers import make_context


def _turn(ctx: ToolContext, steps: list[tuple[str, dict[str, Any]]], key: str = "id"
          ) -> list[Any]:
    ctx.bus.new_turn()
    out: dict[str, Any] = {}
    for name, args in steps:
        out = execute(name, args, ctx)
        assert "error" not in out, out
    return [round(c[key], 5) if key == "score" else c[key] for c in out["items"]]


@pytest.mark.parametrize("user", [0, None])
@pytest.mark.parametrize("cond", [{"year_min": 1970}, {"exclude": {"genre": ["Horror"]}},
                                  {"include": {"genre": ["Comedy", "Drama", "Action"]},
                                   "year_max": 2010}])
def test_a_deferred_filter_ranks_as_listing_it_would(
        tiny_catalog: Catalog, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        cond: dict[str, Any], user: int | None) -> None:
    import agent.tools.filter as f

    ctx = make_context(tiny_catalog, settings, user=user)
    steps = [("filter_items", {**cond, "show": 0}), ("rank_items", {"n": 5})]
    listed = _turn(ctx, steps)
    search = [("filter_items", {**cond, "show": 0}), ("search_items", {"query": "tag05",
                                                                      "k": 7})]
    found = _turn(ctx, search)
    monkeypatch.setattr(f, "LIST_MAX", 3)  # everything above 3 items is "broad" now
    monkeypatch.setattr(f, "LIST_ALL_UP_TO", 10)  # and the tiny catalog a large one
    ctx.bus.new_turn()
    r = execute("filter_items", {**cond, "show": 0}, ctx)
    assert r["at_least"] and r["count"] == 4 and ctx.bus.items is None
    assert ctx.bus.deferred is not None
    # with a wished value, only the items holding it are ranked and checked
    assert (ctx.bus.deferred.within is not None) == bool(cond.get("include"))
    assert _turn(ctx, steps) == listed
    assert ctx.bus.deferred is None and ctx.bus.items is not None  # applied by the ranking
    # search fuses ranks (meaning, words) among its candidates, so checking the catalog's
    # closest may order them a little differently: the same kind of list, every item passing
    again = _turn(ctx, search)
    assert len(again) == len(found) and len(set(again) & set(found)) >= len(found) // 2
    ctx.bus.new_turn()
    monkeypatch.setattr(f, "LIST_MAX", 10_000)
    execute("filter_items", {**cond, "show": 0}, ctx)
    passing = {ctx.catalog.item_ids[i] for i in ctx.bus.items}
    assert set(again) <= passing


def test_a_deferred_filter_is_kept_by_a_second_filter_and_widens_until_enough_pass(
        tiny_catalog: Catalog, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import agent.tools.filter as f

    ctx = make_context(tiny_catalog, settings)
    both = [("filter_items", {"year_min": 1970, "show": 0}),
            ("filter_items", {"include": {"genre": ["Horror"]}, "show": 0}),
            ("rank_items", {"n": 4})]
    listed = _turn(ctx, both)
    monkeypatch.setattr(f, "LIST_MAX", 3)
    monkeypatch.setattr(f, "LIST_ALL_UP_TO", 10)
    assert _turn(ctx, both) == listed
    cat = ctx.catalog
    assert all(cat.years[cat.item_index[i]] >= 1970 and "Horror" in
               cat.item_attributes(cat.item_index[i])["genre"] for i in listed)
    # the ranking's best items mostly fail: the check widens its window until enough pass
    checked: list[int] = []
    from agent.tools.bus import Deferred

    rare = set(cat.attributes["genre"].items_with("Horror")[:2].tolist())
    d = Deferred(lambda ids: (checked.append(len(ids)), np.array(
        [i for i in ids if i in rare]))[1], at_least=2)
    ids, _ = d.best(2, lambda k: (np.arange(min(k, cat.n_items))[::-1],
                                  np.zeros(min(k, cat.n_items))))
    assert set(ids.tolist()) == rare
