"""A reason for turning an item down is the opposite wish: "too long" asks for shorter ones."""

from __future__ import annotations

import pytest

from agent.nlu import lexicon_for
from agent.nlu.rules import extract
from tests.agent.manager.conftest import movie_catalog


@pytest.mark.parametrize(("text", "refs", "wish"), [
    ("number 2 is too long", [2], "shorter"),
    ("not the first one, too old", [1], "newer"),
    ("the third is too recent", [3], "older"),
    ("number 2 is too horror", [2], "less horror"),
])
def test_too_reads_as_the_opposite_wish(text: str, refs: list[int], wish: str) -> None:
    req = extract(text, lexicon_for(movie_catalog()), shown=5).request
    assert req.refs == refs and req.free_text == wish and not req.include


@pytest.mark.parametrize("text", ["me too", "I liked it too", "not too scary please",
                                  "too much violence"])
def test_other_toos_are_not_reasons(text: str) -> None:
    req = extract(text, lexicon_for(movie_catalog()), shown=5).request
    assert not (req.free_text or "").startswith(("less", "shorter", "newer", "older"))
