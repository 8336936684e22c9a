"""An app over the tiny movie catalog, a scripted LLM and a profile store in the test's dir."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent.llm.scripted import ScriptedChatModel
from agent.manager import Manager
from recsys.settings import Settings
from tests.agent.manager.conftest import movie_catalog
from tests.agent.tools.helpers import make_context

REPLY = "Here are a few picks for you."


@pytest.fixture
def make_app(settings: Settings, tmp_path: Path) -> Callable[..., FastAPI]:
    """``make_app(llm=..., db_url=..., **server_settings)``: a fresh app (profiles in a SQLite
    file of the test, or at ``db_url``); ``app.state.manager`` is its manager."""
    from profiles.db import make_engine
    from profiles.migrate import upgrade
    from profiles.store import ProfileStore
    from ui.server import create_app
    from ui.server.settings import ServerSettings

    def make(llm: Any = "default", db_url: str | None = None, catalog: Any = None,
             reply_style: str = "full", **server: Any) -> FastAPI:
        settings.catalog = "movies"
        if llm == "default":
            llm = ScriptedChatModel(fallback=REPLY, name="fake")
        # the model words whole replies by default here: the socket tests drive its stream
        manager = Manager(make_context(catalog or movie_catalog(), settings), llm=llm,
                          llm_nlu=False, reply_style=reply_style)
        engine = make_engine(db_url or f"sqlite:///{tmp_path / 'app.db'}")
        upgrade(engine)
        app = create_app(settings, manager_factory=lambda name: manager,
                         store=ProfileStore(engine),
                         server=ServerSettings(**{"allowed_hosts": ["testserver"], **server}))
        app.state.manager = manager
        return app

    return make


@pytest.fixture
def client(make_app: Callable[..., FastAPI]) -> TestClient:
    return TestClient(make_app())


def sign_up(client: TestClient, name: str = "ada") -> dict[str, str]:
    """Auth headers of a new user."""
    r = client.post("/api/users", json={"name": name})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def rich_movie_catalog() -> Any:
    """The tiny catalog with what a real one knows: directors, cast, runtimes, ratings, an
    overview, curated keywords and people's tags (some of them junk), titles with moved
    articles. What the page's cards are judged on."""
    import numpy as np
    import scipy.sparse as sp

    from recsys.catalog import FieldInfo, ItemAttributes, Words

    cat = movie_catalog()
    n = cat.n_items
    cat.titles = [f"{t[:-7]}, The {t[-6:]}" for t in cat.titles]  # "Silent Harbor, The (1957)"

    def attr(name: str, rows: list[dict[str, float]]) -> ItemAttributes:
        values = sorted({v for r in rows for v in r})
        index = {v: j for j, v in enumerate(values)}
        m = sp.lil_matrix((n, len(values)), dtype=np.float32)
        for i, r in enumerate(rows):
            for v, w in r.items():
                m[i, index[v]] = w
        return ItemAttributes(name, values, m.tocsr())

    people = ["Ada Lane", "Ben Ortiz", "Cleo Park", "Dev Rao", "Eva Stone", "Finn Hale"]
    cat.attributes["director"] = attr("director", [{people[i % 6]: 1} for i in range(n)])
    cat.attributes["cast"] = attr("cast", [{people[(i + 1) % 6]: 1, people[(i + 3) % 6]: 1}
                                           for i in range(n)])
    words = ["heist", "time travel", "small town", "road trip", "revenge", "friendship"]
    cat.attributes["keywords"] = attr("keywords", [{words[i % 6]: 1, words[(i + 2) % 6]: 1}
                                                   for i in range(n)])
    cat.attributes["tag"] = attr("tag", [{"in netflix queue": 3, "atmospheric": 2,
                                          "bechdel test:fail": 2} for _ in range(n)])
    cat.numbers["runtime"] = np.array([85 + (i * 7) % 60 for i in range(n)], np.float64)
    cat.notes["overview"] = [f"A story of {words[i % 6]} and {words[(i + 1) % 6]}."
                             for i in range(n)]
    cat.fields.update({
        "director": FieldInfo("people", True, "directed by"),
        "cast": FieldInfo("people", True, "starring"),
        "keywords": FieldInfo("keywords", False, "known for"),
        "tag": FieldInfo("keywords", False),
        "runtime": FieldInfo("number", True, None, "minutes"),
        "overview": FieldInfo("text", False)})
    cat.words = Words("movie", "movies")
    cat.fingerprint = "rich-" + cat.fingerprint
    return cat
