"""A small movie-like catalog (real-looking titles) and a manager over it with light resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agent.llm.scripted import ScriptedChatModel
from agent.manager import Manager
from recsys.catalog import Catalog
from recsys.settings import Settings
from recsys.synthetic import make_catalog
from tests.agent.tools.helpers import make_context

_FIRST = ["Crimson", "Silent", "Golden", "Broken", "Hidden", "Electric", "Frozen", "Burning",
          "Velvet", "Iron"]
_SECOND = ["Harbor", "Meridian", "Lantern", "Orchard", "Cathedral", "Horizon"]


def movie_catalog() -> Catalog:
    """60 items in 4 genres (Action, Comedy, Drama, Horror), titled "Crimson Harbor (1950)"."""
    cat = make_catalog(n_users=40, n_items=60, name="movies")
    cat.titles = [f"{_FIRST[i % 10]} {_SECOND[i // 10]} ({int(cat.years[i])})"
                  for i in range(cat.n_items)]
    return cat


@pytest.fixture
def movies() -> Catalog:
    return movie_catalog()


@pytest.fixture
def make_manager(movies: Catalog, settings: Settings) -> Callable[..., Manager]:
    def make(llm: Any = None, **kw: Any) -> Manager:
        kw.setdefault("llm_nlu", False)
        # the model words the opening, so the tests drive its stream (the shipped default,
        # "template", chosen by benchmarks/replies.py, never calls it for a reply)
        kw.setdefault("reply_style", "opening")
        return Manager(make_context(movies, settings), llm=llm, **kw)
    return make


@pytest.fixture
def template_manager(make_manager: Callable[..., Manager]) -> Manager:
    """No LLM: every reply is the template (fully deterministic)."""
    return make_manager(None)


@pytest.fixture
def fake() -> ScriptedChatModel:
    return ScriptedChatModel(name="fake")
