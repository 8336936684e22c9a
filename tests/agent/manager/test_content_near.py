"""Content neighbours for "like X": items sharing X's catalog values, best first."""

from __future__ import annotations

from agent.manager.planner import _content_near
from recsys.catalog import Catalog


def test_content_neighbours_share_values(tiny_catalog: Catalog) -> None:
    cat = tiny_catalog
    near = _content_near(cat, 0, 10)
    mine = set(cat.item_attributes(0)["genre"])
    assert 0 not in near.ids.tolist() and len(near) == 10
    assert all(mine & set(cat.item_attributes(int(i))["genre"]) for i in near.ids[:5])
    assert list(near.scores) == sorted(near.scores, reverse=True)
    assert len(_content_near(cat, 0, 10_000)) <= cat.n_items - 1  # more than exist: all
