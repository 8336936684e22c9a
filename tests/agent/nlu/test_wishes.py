"""Lengths, audiences, misspelt names and search topics in a message."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from agent.nlu.lexicon import Lexicon
from agent.nlu.rules import extract
from recsys.catalog import Audience, Catalog, FieldInfo, ItemAttributes
from tests.agent.nlu.conftest import film_catalog


@pytest.fixture(scope="module")
def rich() -> Lexicon:
    cat: Catalog = film_catalog()
    n = cat.n_items
    people = ["Jim Carrey", "Sigourney Weaver"]
    rows = [0, 1, 2, 3]
    cat.attributes["cast"] = ItemAttributes(
        "cast", people, sp.csr_matrix((np.ones(4, np.float32), (rows, [0, 0, 1, 1])),
                                      shape=(n, 2)))
    cat.numbers = {"runtime": np.full(n, 100, np.float32)}
    cat.fields = {"cast": FieldInfo("people", True, "starring"),
                  "runtime": FieldInfo("number", True, None, "minutes")}
    cat.audience = {"child": Audience("genre", ("Comedy",))}
    return Lexicon.build(cat)


@pytest.mark.parametrize(("text", "bounds"), [
    ("something under two hours", [None, 120.0]),
    ("a thriller less than 90 minutes", [None, 90.0]),
    ("no longer than an hour and a half", [None, 90.0]),
    ("at least 2 hours please", [120.0, None]),
    ("100 minutes or less", [None, 100.0]),
    ("nothing too long", [None, 100.0]),
])
def test_lengths(rich: Lexicon, text: str, bounds: list) -> None:
    req = extract(text, rich).request
    assert req.ranges == {"runtime": bounds}
    assert req.kind in ("recommend", "refine")


def test_lengths_need_a_runtime_field(films: Lexicon) -> None:
    assert extract("something under two hours", films).request.ranges == {}


@pytest.mark.parametrize("text", ["a movie to watch with my 8-year-old",
                                  "something for my kids", "family movie night",
                                  "anything kid friendly?", "for a seven year old"])
def test_child_audience(rich: Lexicon, text: str) -> None:
    assert extract(text, rich).request.audience == "child"


@pytest.mark.parametrize("text", ["something for my 15 year old", "not for kids",
                                  "I am a kid at heart", "a movie"])
def test_no_child_audience(rich: Lexicon, text: str) -> None:
    assert extract(text, rich).request.audience is None


def test_audience_needs_a_rule(films: Lexicon) -> None:
    assert extract("something for my kids", films).request.audience is None


def test_misspelt_name_after_a_cue(rich: Lexicon) -> None:
    req = extract("something funny with jim carey", rich).request
    assert req.include.get("cast") == ["Jim Carrey"]
    assert "cast" not in extract("something with jam curry", rich).request.include


def test_topic_after_about(films: Lexicon) -> None:
    req = extract("documentaries about music", films).request
    assert req.free_text == "music"
    assert extract("what is it about?", films).request.free_text is None
