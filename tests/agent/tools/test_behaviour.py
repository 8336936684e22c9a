"""What the tools do on the tiny catalog: narrowing the bus, fallbacks, explanations."""

from __future__ import annotations

import numpy as np
import pytest

from agent.state import DialogueState
from agent.tools import ToolContext, ToolError, execute
from agent.tools.explain import node_from_json
from recsys.catalog import Catalog
from recsys.settings import Settings
from tests.agent.tools.helpers import make_context


def _bus(ctx: ToolContext) -> list[int]:
    """The candidates on the bus (a tool has set them)."""
    assert ctx.bus.items is not None
    return [int(i) for i in ctx.bus.items]


def _ids(ctx: ToolContext, result: dict) -> list[int]:
    return [ctx.catalog.item(x["id"]) for x in result["items"]]


def test_filter_search_rank_narrows_the_bus_and_logs_each_step(ctx: ToolContext) -> None:
    cat = ctx.catalog
    comedies = set(cat.attributes["genre"].items_with("Comedy").tolist())
    assert ctx.bus.items is None  # a turn starts from the whole catalog
    f = execute("filter_items", {"include": {"genre": ["comedy"]}, "year_min": 1960}, ctx)
    assert f["count"] == len(_bus(ctx)) > 0
    after_filter = set(_bus(ctx))
    assert after_filter <= comedies
    assert all(cat.years[i] >= 1960 for i in after_filter)
    s = execute("search_items", {"query": "Comedy tag05 tag07", "k": 5}, ctx)
    after_search = set(_bus(ctx))
    assert after_search <= after_filter and len(after_search) == s["count"] <= 5
    r = execute("rank_items", {"n": 3}, ctx)
    assert r["model"] == "als" and r["personalised"]
    after_rank = _ids(ctx, r)
    assert set(after_rank) <= after_search and len(after_rank) <= 3
    assert _bus(ctx) == after_rank
    scores = [x["score"] for x in r["items"]]
    assert scores == sorted(scores, reverse=True)
    log = ctx.bus.log
    assert [s.tool for s in log] == ["filter_items", "search_items", "rank_items"]
    sizes = [s.bus_size or 0 for s in log]
    assert sizes == sorted(sizes, reverse=True) and all(s.ms >= 0 for s in log)
    assert ctx.bus.summary()[0]["args"]["include"] == {"genre": ["comedy"]}
    ctx.bus.new_turn()
    assert ctx.bus.items is None and ctx.bus.log == []


def test_filter_matches_a_numpy_reference(ctx: ToolContext) -> None:
    cat = ctx.catalog
    execute("filter_items", {"include": {"genre": ["Drama", "Horror"]},
                             "exclude": {"tag": ["tag01"]}, "year_max": 2000,
                             "exclude_items": ["3"], "show": 50}, ctx)
    want = [i for i in range(cat.n_items)
            if cat.item_attributes(i)["genre"][0] in ("Drama", "Horror")
            and "tag01" not in cat.item_attributes(i)["tag"]
            and cat.years[i] <= 2000 and cat.item_ids[i] != "3"]
    assert sorted(_bus(ctx)) == want


def test_rank_for_a_new_user_falls_back_to_popularity(tiny_catalog: Catalog,
                                                      settings: Settings) -> None:
    ctx = make_context(tiny_catalog, settings, user=None)
    r = execute("rank_items", {"n": 5}, ctx)
    assert r["model"] == "popularity" and not r["personalised"]
    counts = np.bincount(ctx.popular().seen.indices, minlength=tiny_catalog.n_items)
    got = _ids(ctx, r)
    assert [counts[i] for i in got] == sorted(counts, reverse=True)[:5]


def test_rank_excludes_items_shown_or_turned_down(tiny_catalog: Catalog,
                                                  settings: Settings) -> None:
    state = DialogueState.start(0, tiny_catalog.n_items)
    first = execute("rank_items", {"n": 4}, make_context(tiny_catalog, settings, state=state))
    shown = _ids(make_context(tiny_catalog, settings), first)
    state.record_recommendation(shown[:2], rank=None)
    state.recommended += shown[2:]
    ctx = make_context(tiny_catalog, settings, state=state)
    again = _ids(ctx, execute("rank_items", {"n": 10}, ctx))
    assert not set(again) & set(shown)


def test_explain_returns_paths_that_exist_in_the_graph(ctx: ToolContext) -> None:
    graph = ctx.graph()
    top = execute("rank_items", {"n": 3}, ctx)["items"]
    for item in top:
        e = execute("explain", {"item": item["id"]}, ctx)
        assert e["id"] == item["id"] and e["paths"] and e["reason"]
        for path in e["paths"]:
            nodes = [node_from_json(ctx.catalog, n) for n in path]
            assert graph.is_path(nodes)
            assert nodes[-1] == ("item", ctx.catalog.item(item["id"]))
        mine = set(ctx.model().seen[ctx.user].indices.tolist())
        assert e["neighbours"] and all(ctx.catalog.item(n["id"]) in mine
                                       for n in e["neighbours"])


def test_explain_for_a_new_user_uses_accepted_attributes(tiny_catalog: Catalog,
                                                         settings: Settings) -> None:
    state = DialogueState.start(0, tiny_catalog.n_items)
    genre = tiny_catalog.item_attributes(0)["genre"][0]
    state.accepted.append(("genre", genre))
    ctx = make_context(tiny_catalog, settings, user=None, state=state)
    e = execute("explain", {"item": "1"}, ctx)
    assert e["paths"] == [[{"type": "attribute", "field": "genre", "value": genre},
                           {"type": "item", "id": "1", "title": "Item 1"}]]
    assert ctx.graph().is_path([node_from_json(tiny_catalog, n) for n in e["paths"][0]])
    assert e["neighbours"] == []


def test_ask_attribute_splits_the_candidates(ctx: ToolContext) -> None:
    execute("filter_items", {"include": {"genre": ["Action"]}}, ctx)
    n = len(_bus(ctx))
    q = execute("ask_attribute", {}, ctx)
    assert q["candidates"] == n and q["field"] == "tag"  # genre is settled: all are Action
    assert q["split"]["with"] + q["split"]["without"] == n
    assert 0 < q["split"]["with"] < n
    assert len(_bus(ctx)) == n  # asking does not move the bus
    only_genre = execute("ask_attribute", {"fields": ["genre"]}, ctx)
    assert only_genre["field"] is None  # no genre question splits Action items


def test_ask_attribute_for_a_new_user_skips_answered(tiny_catalog: Catalog,
                                                     settings: Settings) -> None:
    state = DialogueState.start(0, tiny_catalog.n_items)
    ctx = make_context(tiny_catalog, settings, user=None, state=state)
    first = execute("ask_attribute", {}, ctx)
    assert first["field"] is not None and first["candidates"] == tiny_catalog.n_items
    state.rejected.append((first["field"], first["value"]))
    second = execute("ask_attribute", {}, ctx)
    assert (second["field"], second["value"]) != (first["field"], first["value"])


def test_lookup_by_id_and_by_title(ctx: ToolContext) -> None:
    by_id = execute("lookup_item", {"item": "7"}, ctx)
    by_title = execute("lookup_item", {"item": "item 7"}, ctx)
    assert by_id == by_title
    assert by_id["id"] == "7" and by_id["year"] == ctx.catalog.year(6)
    assert by_id["attributes"] == ctx.catalog.item_attributes(6)


def test_similar_items_by_model_and_by_text(ctx: ToolContext) -> None:
    by_model = execute("similar_items", {"item": "1", "n": 5}, ctx)
    assert len(by_model["items"]) == 5 and "1" not in [x["id"] for x in by_model["items"]]
    assert _bus(ctx) == _ids(ctx, by_model)
    by_text = execute("similar_items", {"item": "1", "n": 3, "by": "text"}, ctx)
    assert by_text["by"] == "text" and len(by_text["items"]) == 3


def test_an_empty_bus_stays_empty_without_errors(ctx: ToolContext) -> None:
    f = execute("filter_items", {"include": {"genre": ["Action"]}, "year_min": 2030}, ctx)
    assert f == {"count": 0, "items": []}
    assert execute("search_items", {"query": "anything"}, ctx) == {"count": 0, "items": []}
    assert execute("rank_items", {}, ctx)["items"] == []
    assert execute("ask_attribute", {}, ctx)["field"] is None
    assert [s.bus_size for s in ctx.bus.log] == [0, 0, 0, 0]


def test_titles_resolve_as_people_type_them(tiny_catalog: Catalog, settings: Settings) -> None:
    from dataclasses import replace

    from agent.tools.items import resolve_item, title_key

    assert title_key("Matrix, The (1999)") == "the matrix"
    assert title_key("Léon: The Professional (a.k.a. The Professional) (1994)") == \
        "léon: the professional (a.k.a. the professional)"
    titles = list(tiny_catalog.titles)
    titles[:4] = ["Matrix, The (1999)", "Heat (1995)", "Heat (1986)", "Alien (1979)"]
    cat = replace(tiny_catalog, titles=titles)
    assert resolve_item(cat, "the matrix") == 0
    assert resolve_item(cat, "Heat (1986)") == 2  # exact title wins
    assert resolve_item(cat, "alien") == 3
    with pytest.raises(ToolError, match="names 2 items.*id 2.*id 3"):
        resolve_item(cat, "Heat")


def test_context_loads_trained_models_lazily(tiny_catalog: Catalog, settings: Settings) -> None:
    from agent.tools import ToolContext
    from recsys.serving import train

    settings.embedding_model = "hashing-64"
    train(tiny_catalog, settings, ["als", "popularity"], progress=False)
    ctx = ToolContext(tiny_catalog, settings, user=1)
    assert ctx.recommender is None and ctx.semantic is None  # nothing loaded yet
    from recsys.db import get_engine
    from recsys.store import save_catalog

    save_catalog(get_engine(settings.database_url), tiny_catalog)
    r = execute("rank_items", {"n": 3}, ctx)
    assert r["model"] == "als" and len(r["items"]) == 3
    assert ctx.warm().semantic is not None and ctx.policy_context is not None


def test_explain_for_a_new_user_uses_items_liked_in_the_chat(tiny_catalog: Catalog,
                                                             settings: Settings) -> None:
    genre = tiny_catalog.item_attributes(0)["genre"][0]
    same = next(j for j in range(1, tiny_catalog.n_items)
                if genre in tiny_catalog.item_attributes(j)["genre"])
    ctx = make_context(tiny_catalog, settings, user=None, liked=(same,))
    e = execute("explain", {"item": "1"}, ctx)
    first = e["paths"][0]
    assert first[0] == {"type": "item", "id": tiny_catalog.item_ids[same],
                        "title": tiny_catalog.titles[same]}
    assert first[-1]["id"] == "1" and first[1]["type"] == "attribute"
    for path in e["paths"]:
        assert ctx.graph().is_path([node_from_json(tiny_catalog, n) for n in path])


def test_ask_for_a_new_user_over_the_whole_catalog_counts_instead_of_scanning(
        tiny_catalog: Catalog, settings: Settings) -> None:
    """The count-based question (a new user, nothing narrowed) is the one a scan of every
    candidate gives, with the items already shown left out of both."""
    ctx = make_context(tiny_catalog, settings, user=None)
    ctx.state = DialogueState.start(-1, tiny_catalog.n_items)
    ctx.state.recommended = [0, 1, 2]
    fast = execute("ask_attribute", {}, ctx)
    ctx.bus.set(np.arange(tiny_catalog.n_items))  # the same candidates, listed: the scan
    slow = execute("ask_attribute", {}, ctx)
    assert fast == slow and fast["field"] is not None
    assert fast["candidates"] == tiny_catalog.n_items - 3
