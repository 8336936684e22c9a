"""Input JSON allows but nothing can echo or store: NaN, Infinity, lone surrogates -> 4xx.

These were 500s (REST: FastAPI's 422 echoes the input and could not encode it) and a
server error that dropped the chat socket (an error event echoing the type). The socket is
checked through a real uvicorn: the test client passes text along without encoding it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.ui.conftest import sign_up
from tests.ui.live import serve_in_thread


@pytest.mark.parametrize("path, body", [
    ("/api/users", b'{"name": "\\ud800"}'),
    ("/api/users", b'{"name": "ada", "\\udc00": 1}'),
    ("/api/sessions", b'{"title": "\\udfff"}'),
    ("/api/sessions/{sid}/feedback", b'{"item_id": "1", "kind": "rating", "rating": NaN}'),
    ("/api/sessions/{sid}/feedback", b'{"item_id": "1", "kind": "rating", "rating": -Infinity}'),
    ("/api/sessions/{sid}/feedback", b'{"item_id": "\\ud800", "kind": "like"}'),
    ("/api/sessions/{sid}/feedback", b'{"item_id": "1", "kind": "critique", "critique": '
                                     b'"\\ud800"}'),
    ("/api/profile/preferences", b'{"text": "\\ud800 no horror"}'),
])
def test_unencodable_input_is_a_422_not_a_500(client: TestClient, path: str,
                                              body: bytes) -> None:
    h = sign_up(client)
    sid = client.post("/api/sessions", json={}, headers=h).json()["id"]
    r = client.post(path.format(sid=sid), content=body,
                    headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    detail = json.loads(r.content.decode("utf-8"))["detail"]  # strict UTF-8 JSON
    assert detail and all("msg" in d and "loc" in d for d in detail)


def test_unencodable_frames_get_an_error_and_the_socket_goes_on(
        make_app: Callable[..., FastAPI]) -> None:
    from websockets.asyncio.client import connect

    app = make_app()
    token = sign_up(TestClient(app))["Authorization"].removeprefix("Bearer ")
    frames = ['{"type": "\\ud800"}', '{"type": "message", "text": "hi \\udc00"}',
              '{"type": "message", "text": "hi", "\\udc00": 1}',
              '{"type": "feedback", "item_id": "1", "kind": "rating", "rating": NaN}',
              '{"type": "ping", "n": Infinity}']

    async def chat(host: str) -> list[dict[str, object]]:
        async with connect(f"ws://{host}/ws/chat") as ws:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            assert json.loads(await ws.recv())["type"] == "ready"
            out = []
            for frame in frames:
                await ws.send(frame)
                out.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            await ws.send(json.dumps({"type": "ping"}))
            out.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            return out

    with serve_in_thread(app) as host:
        events = asyncio.run(chat(host))
    *errors, pong = events
    assert pong == {"type": "pong"}
    for frame, err in zip(frames, errors, strict=True):
        assert err["type"] == "error" and err["recoverable"], (frame, err)
        assert err["code"] in ("bad_json", "bad_request"), (frame, err)
