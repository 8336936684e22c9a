"""A mood said after a list ("anything darker?", "something lighter", "more upbeat") is
measured against that list: every new item has more of the mood than the list had on average,
and the rest of the request (a genre) holds. SCENARIOS.md 17 on the demo catalog is in
``test_scenarios.py``; here the mood each item has is set, through its text embedding."""

from __future__ import annotations

import numpy as np
import pytest

from agent.manager import Manager
from agent.manager.planner import _POLES, mood_of


@pytest.mark.parametrize("wish, quality", [
    ("darker", "dark"), ("a bit lighter", "light-hearted"), ("even darker?", "dark"),
    ("more upbeat", "upbeat"), ("slightly more cheerful", "cheerful"), ("funnier", "funny"),
    ("older", None), ("shorter", None), ("documentaries about music", None),
    ("more please", None), ("dark", None), ("more", None)])
def test_mood_of_reads_comparative_wishes(wish: str, quality: str | None) -> None:
    assert mood_of(wish) == quality


class _MoodEncoder:
    """Texts of the mood's poles on one axis; any other text off it."""

    name, dim = "mood-test", 8

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        dark, light = _POLES["dark"]
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, t in zip(out, texts, strict=True):
            row[0 if t == dark else 1 if t == light else 2] = 1.0
        return out


def _with_moods(manager: Manager) -> np.ndarray:
    """Give each item a darkness in [0, 1] (its text embedding between the two poles);
    returns the darkness by item."""
    from recsys.index import SemanticIndex, VectorIndex

    cat = manager.catalog
    dark = (np.arange(cat.n_items) * 37 % cat.n_items) / (cat.n_items - 1.0)
    emb = np.zeros((cat.n_items, _MoodEncoder.dim), np.float32)
    emb[:, 0], emb[:, 1], emb[:, 3] = dark, 1.0 - dark, 0.5
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    manager.base.semantic = SemanticIndex(cat.name, cat.fingerprint, _MoodEncoder(), emb,
                                          VectorIndex.build(emb))
    return dark


def test_darker_and_lighter_are_measured_against_the_list_on_screen(
        template_manager: Manager) -> None:
    m = template_manager
    dark = _with_moods(m)
    cat, conv = m.catalog, m.start(None)

    def listed(out: dict) -> tuple[list[int], list[set[str]]]:
        ids = [cat.item_index[c["id"]] for c in out["items"]]
        return ids, [set(c["attributes"]["genre"]) for c in out["items"]]

    first, genres = listed(m.respond(conv, "some comedy please"))
    assert len(first) == 5 and all("Comedy" in g for g in genres)
    out = m.respond(conv, "anything darker?")
    darker, genres = listed(out)
    assert len(darker) == 5 and all("Comedy" in g for g in genres)  # the request holds
    assert min(dark[darker]) > dark[first].mean(), (dark[first], dark[darker])
    assert "that are darker" in out["text"]
    # relative to the list now on screen: lighter than the darker list, still comedies
    lighter, genres = listed(m.respond(conv, "something a bit lighter"))
    assert len(lighter) == 5 and all("Comedy" in g for g in genres)
    assert max(dark[lighter]) < dark[darker].mean(), (dark[darker], dark[lighter])


def test_a_mood_is_never_a_search_for_its_word(template_manager: Manager) -> None:
    """ "darker" used to narrow the list to the items whose text has the word ("The Dark
    Tower"); now no search step runs for it, and the list still comes."""
    m = template_manager
    _with_moods(m)
    conv = m.start(None)
    m.respond(conv, "some comedy please")
    out = m.respond(conv, "anything darker?")
    assert len(out["items"]) == 5
    assert not [s for s in out["trace"] if s.get("tool") == "search_items"]
