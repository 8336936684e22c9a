"""One owner of a session's state: no acknowledged change is overwritten, whatever the order.

The page sends likes and list edits over REST while a turn runs on the socket; a second tab
runs turns on the same session; clicks come in bursts. Each test runs on SQLite and on
PostgreSQL, and each fails when a turn writes its state over the stored one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.ui.conftest import sign_up
from tests.ui.live import serve_in_thread
from tests.ui.test_chat_socket import hello, turn


class Gated:
    """A model whose reply waits, while ``hold`` is set, until the test says go."""

    name = "gated"

    def __init__(self) -> None:
        self.hold = False
        self.started, self.go = threading.Event(), threading.Event()

    def stream(self, messages: Sequence[Any], **kw: Any) -> Iterator[str]:
        if self.hold:
            self.started.set()
            assert self.go.wait(30), "the test never let the turn finish"
        yield from ["Here ", "you ", "go."]

    def generate(self, *a: Any, **kw: Any) -> Any:
        raise AssertionError("not used: understanding runs on rules in these tests")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    return str(request.getfixturevalue("postgres_server").new_database())


def _rest_of_turn(ws: Any) -> list[dict[str, Any]]:
    """The events of a turn already sent, up to its done or error."""
    events: list[dict[str, Any]] = []
    while not events or events[-1]["type"] not in ("done", "error"):
        events.append(ws.receive_json())
    return events


def _ids(events: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in next(e for e in events if e["type"] == "items")["items"]]


def test_changes_made_while_a_turn_runs_are_kept(make_app: Callable[..., FastAPI],
                                                  db_url: str) -> None:
    """Like, dislike and remove over REST while the socket's turn is generating."""
    llm = Gated()
    client = TestClient(make_app(llm=llm, db_url=db_url, turn_slots=2))
    h = sign_up(client)
    with client.websocket_connect("/ws/chat") as ws:
        sid = hello(ws, h)["session"]["id"]
        ids = _ids(turn(ws, "some comedy please"))
        llm.hold = True
        ws.send_json({"type": "message", "text": "anything from the 90s?"})
        assert llm.started.wait(30)
        for item, kind in ((ids[0], "like"), (ids[1], "dislike")):
            r = client.post(f"/api/sessions/{sid}/feedback", json={"item_id": item, "kind": kind},
                            headers=h)
            assert r.status_code == 201
        r = client.post(f"/api/sessions/{sid}/list-edits",
                        json={"shown": ids, "edited": [i for i in ids if i != ids[2]]}, headers=h)
        assert r.status_code == 201
        llm.go.set()
        events = _rest_of_turn(ws)
        assert events[-1]["type"] == "done", events[-1]
    s = client.get(f"/api/sessions/{sid}", headers=h).json()
    last = [e for e in events if e["type"] == "items"][-1]["items"]  # what the page shows
    assert [c["id"] for c in last] == [c["id"] for c in s["shown"]]
    assert ids[0] in s["liked"], "a like made during the turn was overwritten"
    assert {ids[1], ids[2]} <= set(s["disliked"]), "a dislike or removal was overwritten"
    assert not {ids[1], ids[2]} & {c["id"] for c in s["shown"]}
    assert [m["text"] for m in s["messages"] if m["role"] == "user"] == [
        "some comedy please", "anything from the 90s?"]
    state = client.app.state.services.store.get_state(1, sid)
    assert state["turn"] == 2 and len(state["history"]) == 4


def test_twenty_concurrent_likes_on_one_session_are_all_kept(
        make_app: Callable[..., FastAPI], db_url: str) -> None:
    app = make_app(db_url=db_url)
    with serve_in_thread(app) as host, httpx.Client(base_url=f"http://{host}") as http:
        token = http.post("/api/users", json={"name": "ada"}).json()["token"]
        h = {"Authorization": f"Bearer {token}"}
        sid = http.post("/api/sessions", json={}, headers=h).json()["id"]
        items = app.state.manager.catalog.item_ids[:20]

        def like(item: str) -> int:
            with httpx.Client(base_url=f"http://{host}", timeout=30) as c:
                return c.post(f"/api/sessions/{sid}/feedback",
                              json={"item_id": item, "kind": "like"}, headers=h).status_code

        with ThreadPoolExecutor(20) as pool:
            codes = list(pool.map(like, items))
        assert codes == [201] * 20
        liked = http.get(f"/api/sessions/{sid}", headers=h).json()["liked"]
    assert sorted(liked) == sorted(items)


def test_two_tabs_on_one_session_lose_no_turn(make_app: Callable[..., FastAPI],
                                              db_url: str) -> None:
    """Tab A's turn is generating when tab B sends and finishes its own; both are kept."""
    llm = Gated()
    client = TestClient(make_app(llm=llm, db_url=db_url, turn_slots=2))
    h = sign_up(client)
    with client.websocket_connect("/ws/chat") as a:
        sid = hello(a, h)["session"]["id"]
        first = _ids(turn(a, "some comedy please"))
        with client.websocket_connect("/ws/chat") as b:
            hello(b, h, sid)
            llm.hold = True
            a.send_json({"type": "message", "text": "anything from the 90s?"})
            assert llm.started.wait(30)
            llm.hold = False
            assert turn(b, f"I loved {first[0]!s}")[-1]["type"] in ("done",)
            llm.go.set()
            events = _rest_of_turn(a)
            assert events[-1]["type"] == "done", events[-1]
    store = client.app.state.services.store
    msgs = store.history(1, sid)
    assert [m.role for m in msgs] == ["user", "assistant"] * 3
    assert {m.text for m in msgs[::2]} == {"some comedy please", "anything from the 90s?",
                                           f"I loved {first[0]}"}
    state = store.get_state(1, sid)
    assert state["turn"] == 3 and len(state["history"]) == 6
    texts = [line["text"] for line in state["history"] if line["role"] == "user"]
    assert set(texts) == {m.text for m in msgs[::2]}


def test_the_other_tabs_are_told_of_a_change(make_app: Callable[..., FastAPI]) -> None:
    """A turn or a click in one tab: the other tabs on the session get a sync event."""
    client = TestClient(make_app())
    h = sign_up(client)
    with client.websocket_connect("/ws/chat") as a:
        ready_a = hello(a, h)
        sid = ready_a["session"]["id"]
        with client.websocket_connect("/ws/chat") as b:
            ready_b = hello(b, h, sid)
            assert ready_a["tab"] != ready_b["tab"]
            ids = _ids(turn(b, "some comedy please"))
            assert a.receive_json() == {"type": "sync", "session_id": sid}
            # a like from tab A's page: tab B is told, tab A (which made it) is not
            r = client.post(f"/api/sessions/{sid}/feedback", json={"item_id": ids[0],
                            "kind": "like"}, headers={**h, "X-Tastebud-Tab": ready_a["tab"]})
            assert r.status_code == 201
            assert b.receive_json() == {"type": "sync", "session_id": sid}
            a.send_json({"type": "ping"})
            assert a.receive_json()["type"] == "pong"  # nothing queued before it
