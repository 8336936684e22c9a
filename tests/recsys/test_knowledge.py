"""What items know beyond genres: numbers and free text stored and filtered, audience rules,
cards, lexical search and its fusion with embeddings, mojibake repair."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.audience import suitable
from recsys.catalog import Audience, Catalog, FieldInfo, ItemAttributes
from recsys.db import get_engine
from recsys.describe import about, details
from recsys.errors import UnknownNameError
from recsys.filters import filter_items
from recsys.lexical import LexicalIndex, fuse, terms
from recsys.reader import _unmojibake
from recsys.settings import Settings
from recsys.store import load_catalog, save_catalog


@pytest.fixture
def rich(tiny_catalog: Catalog) -> Catalog:
    """The tiny catalog with runtimes, overviews, ratings and a child rule."""
    import scipy.sparse as sp

    cat = tiny_catalog
    n = cat.n_items
    runtime = np.full(n, np.nan, np.float32)
    runtime[:40] = 80 + np.arange(40)  # items 0..39: 80..119 minutes; the rest unknown
    cat.numbers = {"runtime": runtime}
    cat.notes = {"overview": [f"Overview of item {i}." if i % 2 == 0 else None
                              for i in range(n)]}
    ratings = ["G", "PG", "R"]
    rows = list(range(30))
    cols = [i % 3 for i in rows]
    cat.attributes["certification"] = ItemAttributes(
        "certification", ratings, sp.csr_matrix((np.ones(30, np.float32), (rows, cols)),
                                                shape=(n, 3)))
    cat.fields = {"runtime": FieldInfo("number", True, None, "minutes"),
                  "overview": FieldInfo("text", False),
                  "certification": FieldInfo("categorical", True, "rated")}
    genre = next(iter(cat.attributes["genre"].values))
    cat.audience = {"child": Audience("certification", ("G", "PG"),
                                      {"genre": (genre,)}, {})}
    return cat


def test_numbers_and_notes_round_trip(rich: Catalog, settings: Settings) -> None:
    engine = get_engine(settings.database_url)
    save_catalog(engine, rich, progress=False)
    back = load_catalog(engine, rich.name)
    assert back.number("runtime", 5) == 85.0 and back.number("runtime", 45) is None
    assert back.note("overview", 4) == "Overview of item 4." and back.note("overview", 5) is None
    assert back.coverage()["runtime"] == round(40 / rich.n_items, 3)


def test_range_filter_in_sql(rich: Catalog, settings: Settings) -> None:
    engine = get_engine(settings.database_url)
    save_catalog(engine, rich, progress=False)
    got = filter_items(engine, rich.name, ranges={"runtime": (None, 90)})
    assert got.tolist() == list(range(11))  # 80..90 minutes; unknown runtimes fail
    got = filter_items(engine, rich.name, ranges={"runtime": (100, 105)})
    assert got.tolist() == list(range(20, 26))


def test_audience_rule(rich: Catalog) -> None:
    ok = suitable(rich, "child")
    for i in range(rich.n_items):
        rated = rich.item_attributes(i).get("certification", [])
        if rated:
            assert ok[i] == (rated[0] in ("G", "PG"))
        else:  # unrated: only with the rule's genre
            genre = rich.audience["child"].unrated["genre"][0]
            assert ok[i] == (genre in rich.item_attributes(i)["genre"])
    assert not ok[2]  # rated R
    with pytest.raises(UnknownNameError, match="child"):
        suitable(rich, "teen")


def test_audience_exclusions_win(rich: Catalog) -> None:
    genre = rich.audience["child"].unrated["genre"][0]
    rich.audience = {"child": Audience("certification", ("G", "PG"), {}, {"genre": (genre,)})}
    ok = suitable(rich, "child")
    assert not any(ok[i] for i in rich.attributes["genre"].items_with(genre))


def test_card_details_use_labels_and_units(rich: Catalog) -> None:
    lines = details(rich, 1)
    assert "rated PG" in lines and "81 minutes" in lines
    assert about(rich, 0) == "Overview of item 0." and about(rich, 1) is None
    rich.notes["overview"][0] = "word " * 100
    assert about(rich, 0).endswith("…") and len(about(rich, 0)) <= 241


def test_lexical_scores_rank_shared_rare_words() -> None:
    texts = ["A crew in space meets an alien. keywords: space, spaceship, outer space.",
             "A dark house. keywords: haunted house, ghost.",
             "Horror in space: a dark station.", "A comedy about cooking."]
    lex = LexicalIndex.build(texts)
    sc = lex.scores("dark space horror")
    assert sc[3] == 0 and sc[2] > sc[1] and sc[0] > sc[1]
    assert terms("Aliens in the Movies") == ["alien"]  # plurals and stopwords


def test_fusion_mixes_both_rankings() -> None:
    dense = np.array([3, 1, 2])
    lexical = np.array([0.0, 0.0, 5.0, 0.0, 1.0], np.float32)
    ids, scores = fuse(dense, lexical, 3)
    assert ids[0] == 2  # second by meaning, first by words
    assert set(ids.tolist()) <= {1, 2, 3, 4} and np.all(np.diff(scores) <= 0)
    ids, _ = fuse(dense, lexical, 5, candidates=np.array([1, 4]))
    assert 2 not in ids.tolist() or 2 in dense.tolist()  # candidates bound the words


def test_mojibake_repair_keeps_real_text() -> None:
    assert _unmojibake("TÃ©a Leoni, ChloÃ« Grace") == "Téa Leoni, Chloë Grace"
    assert _unmojibake("café, naïve, Ångström") == "café, naïve, Ångström"
