"""Content neighbours for "like X": items sharing X's catalog values, best first."""

from __future__ import annotations

from agent.manager.planner import _content_near
from recsys.catalog import Catalog


def test_content_neighbours_share_values(tiny_catalog: Catalog) -> None:
    cat = tiny_catalog
    near = _content_near(cat, 0, 10)
    def values(i: int) -> set[tuple[str, str]]:
        return {(f, v) for f, vs in cat.item_attributes(i).items() for v in vs}

    assert 0 not in near.ids.tolist() and len(near) > 0
    assert all(values(0) & values(int(i)) for i in near.ids)  # every one shares a value
    shared = [len(values(0) & values(int(i))) for i in near.ids]
    assert shared[0] >= max(shared[-3:])
    assert list(near.scores) == sorted(near.scores, reverse=True)
    assert len(_content_near(cat, 0, 10_000)) <= cat.n_items - 1  # more than exist: all
