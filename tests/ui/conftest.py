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

    def make(llm: Any = "default", db_url: str | None = None, **server: Any) -> FastAPI:
        settings.catalog = "movies"
        if llm == "default":
            llm = ScriptedChatModel(fallback=REPLY, name="fake")
        # the model words whole replies: the socket tests drive its stream mid-sentence
        manager = Manager(make_context(movie_catalog(), settings), llm=llm, llm_nlu=False,
                          reply_style="full")
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
