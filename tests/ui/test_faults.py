"""Faults: the LLM fails mid-stream; the server is SIGKILLed during a burst of feedback writes.

After a mid-stream failure the user has seen the verified part of the reply, then gets a
``done`` (the model's failure is absorbed: the reply stops before the bad part, or the
template answers) or, for an unexpected failure, an ``error`` event; the same socket goes on.
After a SIGKILL and a restart, every feedback write that got a 2xx is in the database.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent.llm.base import LLMError, LLMTimeoutError, LLMUnavailableError
from tests.ui.conftest import sign_up
from tests.ui.live import ChildServer
from tests.ui.test_chat_socket import hello, turn

PARTIAL = "Here are some picks. "


class FailsMidStream:
    """A model whose first ``fail_calls`` replies raise ``error`` after ``before`` (streamed)."""

    name = "flaky"

    def __init__(self, error: BaseException, before: str = PARTIAL, fail_calls: int = 1
                 ) -> None:
        self.error, self.before, self.fail_calls, self.calls = error, before, fail_calls, 0

    def stream(self, messages: Sequence[Any], **kw: Any) -> Iterator[str]:
        self.calls += 1
        if self.calls <= self.fail_calls:
            if self.before:
                yield self.before
            raise self.error
        yield from ["Here ", "you ", "go."]

    def generate(self, *a: Any, **kw: Any) -> Any:
        raise AssertionError("not used: understanding runs on rules in these tests")


@pytest.mark.parametrize("error, before, fail_calls, ends", [
    # the sentence already sent stands; the reply stops where the model failed
    (LLMTimeoutError("no token for 30 s"), PARTIAL, 1, ("done", "llm+stop")),
    (LLMError("the backend crashed"), PARTIAL, 1, ("done", "llm+stop")),
    # nothing sent yet: one retry, then the template answers
    (LLMUnavailableError("connection refused"), "", 2, ("done", "template")),
    # not a model error: the turn fails with an error event, nothing of it is kept
    (RuntimeError("segfault in the sampler"), PARTIAL, 1, ("error", "turn_failed")),
])
def test_llm_failing_mid_stream_then_the_same_socket_goes_on(
        make_app: Callable[..., FastAPI], error: BaseException, before: str, fail_calls: int,
        ends: tuple[str, str]) -> None:
    llm = FailsMidStream(error, before, fail_calls)
    client = TestClient(make_app(llm=llm))
    h = sign_up(client)
    with client.websocket_connect("/ws/chat") as ws:
        sid = hello(ws, h)["session"]["id"]
        events = turn(ws, "some comedy")
        streamed = "".join(e["delta"] for e in events if e["type"] == "text")
        last = events[-1]
        assert streamed.startswith(before.strip())  # the partial text reached the user
        assert (last["type"], last.get("reply_source") or last.get("code")) == ends
        if last["type"] == "done":
            assert last["text"] == streamed.strip()  # what was said is what is stored
            assert any("model error" in p for p in last["problems"])
            notice = [e for e in events if e["type"] == "error"]  # the user saw it happen
            assert notice and notice[0]["final"] is False and notice[0]["recoverable"]
        else:
            assert last["recoverable"] and "send your message again" in last["message"]
            assert "segfault" not in last["message"]  # internals stay in the server log
        again = turn(ws, "some drama")  # the same socket, the next message
        assert again[-1]["type"] == "done" and again[-1]["text"] == "Here you go."
        assert any(e["type"] == "items" for e in again)
    msgs = client.get(f"/api/sessions/{sid}", headers=h).json()["messages"]
    texts = [(m["role"], m["text"]) for m in msgs]
    if last["type"] == "done":
        assert texts == [("user", "some comedy"), ("assistant", last["text"]),
                         ("user", "some drama"), ("assistant", "Here you go.")]
    else:
        assert texts == [("user", "some comedy"), ("user", "some drama"),
                         ("assistant", "Here you go.")]


@pytest.mark.slow
def test_acknowledged_feedback_survives_a_sigkilled_server(tmp_path: Path) -> None:
    from tests.agent.manager.conftest import movie_catalog

    data, log = tmp_path / "data", tmp_path / "server.log"
    items = movie_catalog().item_ids
    kinds = ["like", "dislike", "seen", "rating", "critique"]
    acked: list[dict[str, Any]] = []
    refused: list[str] = []
    lock = threading.Lock()
    server = ChildServer(data, log)
    with server:
        r = httpx.post(server.url + "/api/users", json={"name": "ann"})
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        sid = httpx.post(server.url + "/api/sessions", json={}, headers=h).json()["id"]

        def writer(k: int) -> None:
            rng = random.Random(k)
            with httpx.Client(base_url=server.url, headers=h, timeout=10) as c:
                while True:
                    kind = rng.choice(kinds)
                    body: dict[str, Any] = {"item_id": rng.choice(items), "kind": kind}
                    if kind == "rating":
                        body["rating"] = rng.choice([1, 2.5, 4.5])
                    elif kind == "critique":
                        body["critique"] = f"writer {k} says {rng.random():.6f}"
                    try:
                        r = c.post(f"/api/sessions/{sid}/feedback", json=body)
                    except httpx.TransportError:  # the server is gone: unacknowledged
                        return
                    with lock:
                        if r.status_code == 201:
                            acked.append(r.json())
                        else:
                            refused.append(f"{r.status_code} {r.text[:200]}")

        threads = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(4)]
        for t in threads:
            t.start()
        target, deadline = random.randint(60, 120), time.monotonic() + 60
        while len(acked) < target and time.monotonic() < deadline and not refused:
            time.sleep(0.005)
        time.sleep(random.uniform(0, 0.02))  # land the kill at a random point of a write
        server.kill(signal.SIGKILL)
        for t in threads:
            t.join(20)
    assert not refused, refused[:3]
    assert len(acked) >= 60, server.log()
    with lock:
        got = {a["id"]: a for a in acked}
    with ChildServer(data, log) as again:
        stored = httpx.get(f"{again.url}/api/sessions/{sid}/feedback", headers=h).json()
        assert httpx.get(f"{again.url}/api/sessions/{sid}", headers=h).status_code == 200
    by_id = {f["id"]: f for f in stored}
    missing = sorted(set(got) - set(by_id))
    assert not missing, f"acknowledged but lost: {missing}"
    for i, a in got.items():
        assert {k: by_id[i][k] for k in ("item_id", "kind", "rating", "critique")} == \
               {k: a[k] for k in ("item_id", "kind", "rating", "critique")}
    assert len(stored) <= len(got) + len(threads)  # at most the writes in flight at the kill
    _integrity_ok(data / "profiles.db")


def _integrity_ok(path: Path) -> None:
    import sqlite3

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
