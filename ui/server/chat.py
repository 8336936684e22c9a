"""``/ws/chat``: the chat socket.

Protocol (JSON text frames, at most ``max_ws_message`` bytes each):

    client -> {"type": "hello", "token": "tb_...", "session_id": 12 | null, "catalog": "..."}
    server <- {"type": "ready", "session": {...}, "shown": [card, ...]}
    client -> {"type": "message", "text": "some 90s sci-fi"}
    server <- {"type": "text", "delta": "..."} ... {"type": "tool", ...} {"type": "items", ...}
              {"type": "question", ...} then {"type": "done", "message_id": ..., ...}
              or {"type": "error", "code", "message", "recoverable"}
    client -> {"type": "feedback", "item_id": "1", "kind": "like"}  server <- {"type": "ack", ...}
    client -> {"type": "ping"}                                      server <- {"type": "pong"}

A bad frame after hello (not JSON, unknown type, missing fields) gets an error event and the
socket stays open. Close codes: 4400 no or bad hello, 4401 bad token, 4404 session not yours
or unknown, 4408 no hello in time, 4429 too many open sockets (per account or address),
4000 idle too long (reconnect to go on), 1009 frame too big.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.concurrency import run_in_threadpool

from recsys.errors import TastebudError
from ui.server.feedback import record_feedback
from ui.server.schemas import MAX_TEXT, FeedbackIn
from ui.server.services import Services
from ui.server.turns import TurnResult, error_event, stream_turn
from ui.server.validation import loads_strict

if TYPE_CHECKING:
    from agent.manager import Conversation

log = logging.getLogger(__name__)
router = APIRouter()

BAD_REQUEST, UNAUTHORIZED, NOT_FOUND, HELLO_TIMEOUT, TOO_BIG = 4400, 4401, 4404, 4408, 1009
IDLE, TOO_MANY = 4000, 4429


class Hello(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    session_id: int | None = Field(default=None, ge=1, le=2**62)
    catalog: Annotated[str, StringConstraints(max_length=100)] | None = None


class Say(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=MAX_TEXT)]


class BadFrame(Exception):
    """A frame we cannot use; ``close`` is set when the socket must close."""

    def __init__(self, code: str, message: str, close: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.close = code, message, close


def _say(data: dict[str, Any]) -> Say:
    """A chat message; its length counted in characters, as the page's input box counts."""
    text = data.get("text")
    if isinstance(text, str) and len(text.strip()) > MAX_TEXT:
        raise BadFrame("too_long", f"messages are limited to {MAX_TEXT} characters and this "
                                   f"one has {len(text.strip())}; shorten it and send again")
    return Say.model_validate(data)


def _invalid(e: ValidationError) -> str:
    first = e.errors()[0]
    where = ".".join(str(x) for x in first["loc"]) or "message"
    return f"{where}: {first['msg']}"


async def _receive(ws: WebSocket, limit: int) -> dict[str, Any]:
    msg = await ws.receive()
    if msg["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(msg.get("code", 1000))
    raw = msg.get("text")
    if raw is None:
        raw_bytes = msg.get("bytes") or b""
        if len(raw_bytes) > limit:
            raise BadFrame("too_big", f"frames are limited to {limit} bytes", TOO_BIG)
        raw = raw_bytes.decode("utf-8", errors="replace")
    if len(raw.encode("utf-8")) > limit:
        raise BadFrame("too_big", f"frames are limited to {limit} bytes; send shorter "
                                  "messages", TOO_BIG)
    try:
        data = loads_strict(raw)
    except json.JSONDecodeError:
        raise BadFrame("bad_json", 'the frame is not JSON; send an object like '
                                   '{"type": "message", "text": "..."}') from None
    except ValueError as e:  # NaN or Infinity, or a lone surrogate: not echoable, not stored
        raise BadFrame("bad_json", str(e)) from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise BadFrame("bad_request", 'send a JSON object with a "type" (hello, message, '
                                      'feedback or ping)')
    return data


async def _close(ws: WebSocket, close: int, code: str, message: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # the client already left
        await ws.send_json(error_event(code, message, recoverable=False))
        await ws.close(close, reason=message[:120])


@router.websocket("/ws/chat")
async def chat(ws: WebSocket) -> None:
    """Chat in one session: hello first, then messages, feedback and pings."""
    svc: Services = ws.app.state.services
    address = ws.client.host if ws.client else "?"
    await ws.accept()
    refused = svc.limits.sockets.open_address(address)
    if refused:
        return await _close(ws, TOO_MANY, "too_many_sockets", refused)
    try:
        with contextlib.suppress(WebSocketDisconnect):  # the client left: nothing to answer
            await _serve(ws, svc)
    finally:
        svc.limits.sockets.close_address(address)


async def _serve(ws: WebSocket, svc: Services) -> None:
    from profiles.errors import AuthenticationError

    limit, store = svc.server.max_ws_message, svc.store
    try:
        first = await asyncio.wait_for(_receive(ws, limit), svc.server.hello_timeout_s)
        if first["type"] != "hello":
            raise BadFrame("hello_first", 'say hello first: {"type": "hello", "token": "...", '
                                          '"session_id": null}', BAD_REQUEST)
        hello = Hello.model_validate(first)
    except TimeoutError:
        return await _close(ws, HELLO_TIMEOUT, "timeout",
                            f"no hello within {svc.server.hello_timeout_s:g} s")
    except BadFrame as e:
        return await _close(ws, e.close or BAD_REQUEST, e.code, e.message)
    except ValidationError as e:
        return await _close(ws, BAD_REQUEST, "bad_request", "hello: " + _invalid(e))
    try:
        user = await run_in_threadpool(store.authenticate, hello.token)
    except AuthenticationError as e:
        return await _close(ws, UNAUTHORIZED, "unauthorized", str(e))
    refused = svc.limits.sockets.open_user(user.id)
    if refused:
        return await _close(ws, TOO_MANY, "too_many_sockets", refused)
    try:
        await _chat(ws, svc, user, hello)
    finally:
        svc.limits.sockets.close_user(user.id)


async def _chat(ws: WebSocket, svc: Services, user: Any, hello: Hello) -> None:
    from profiles.errors import ForbiddenError, NotFoundError

    store = svc.store
    try:
        if hello.session_id is not None:
            session = await run_in_threadpool(store.get_session, user.id, hello.session_id)
        else:
            name = await run_in_threadpool(svc.catalog_name, hello.catalog)
            # a new chat with nothing said in it yet is reused: reloading the page or
            # pressing "New chat" twice leaves no empty sessions behind
            session = await run_in_threadpool(store.unused_session, user.id, name) or \
                await run_in_threadpool(store.create_session, user.id, name)
        manager = await svc.pool.aget(session.catalog)
    except (NotFoundError, ForbiddenError):
        return await _close(ws, NOT_FOUND, "not_found",
                            f"no session {hello.session_id} among yours; start a new one")
    except TastebudError as e:
        return await _close(ws, NOT_FOUND, "not_found", str(e))
    conv = await run_in_threadpool(svc.conversation, session, manager)
    tab = svc.hub.join(session.id, ws)
    try:
        await ws.send_json({"type": "ready", "session": session.model_dump(mode="json"),
                            "shown": svc.cards(manager, conv.shown), "tab": tab.id})
        await _loop(ws, svc, user, session, manager, tab.id)
    finally:
        svc.hub.leave(session.id, tab)


async def _loop(ws: WebSocket, svc: Services, user: Any, session: Any, manager: Any,
                tab: str) -> None:
    """The socket's frames after ready, until it closes."""
    limit = svc.server.max_ws_message
    idle = svc.server.idle_timeout_s
    while True:
        try:
            data = await asyncio.wait_for(_receive(ws, limit), idle)
        except TimeoutError:
            return await _close(ws, IDLE, "idle", f"closed after {idle:g} s without a message; "
                                                  "the page reconnects when you write")
        except BadFrame as e:
            if e.close:
                return await _close(ws, e.close, e.code, e.message)
            await ws.send_json(error_event(e.code, e.message))
            continue
        kind = data["type"]
        try:
            if kind == "message":
                say = _say(data)
                wait = svc.limits.turns.check(user.id)
                if wait is not None:
                    await ws.send_json(error_event("rate_limited", svc.limits.turns.message(wait)))
                    continue
                # the stored state, not this socket's copy: likes, removals and list edits
                # made over REST (the page's buttons) or another tab since the last turn count
                # (and those made while this turn runs are merged in when it is stored)
                base, version = await run_in_threadpool(svc.versioned, session, manager)
                done = await _turn(ws, svc, user.id, session, manager, base, version, say.text)
                if done is not None:
                    svc.hub.notify(session.id, besides=tab)
                    # items turned down in words ("not number 3") teach the profile too
                    down = [a["item"] for a in done.get("acts", [])
                            if a.get("act") in ("dislike", "list_edit") and "item" in a]
                    if down and base.shown:
                        await run_in_threadpool(svc.learn, session, manager,
                                                before=base.shown, turned_down=down,
                                                reason=done.get("reason"))
            elif kind == "feedback":
                body = FeedbackIn.model_validate({k: v for k, v in data.items() if k != "type"})
                fb = await run_in_threadpool(record_feedback, svc, user.id, session.id, body)
                svc.hub.notify(session.id, besides=tab)
                await ws.send_json({"type": "ack", "of": "feedback", "id": fb.id,
                                    "item_id": fb.item_id, "kind": fb.kind})
            elif kind == "ping":
                await ws.send_json({"type": "pong"})
            elif kind == "hello":
                await ws.send_json(error_event("bad_request", "already said hello; to switch "
                                               "sessions open a new socket"))
            else:
                await ws.send_json(error_event(
                    "unknown_type", f"unknown event type '{kind[:40]}'; send message, "
                                    "feedback or ping"))
        except BadFrame as e:
            await ws.send_json(error_event(e.code, e.message))
        except ValidationError as e:
            await ws.send_json(error_event("bad_request", f"{kind[:40]}: {_invalid(e)}"))
        except TastebudError as e:
            from ui.server.app import _status

            await ws.send_json(error_event("rejected", _status(e)[1]))


async def _turn(ws: WebSocket, svc: Services, user_id: int, session: Any, manager: Any,
                base: Conversation, version: int, text: str) -> dict[str, Any] | None:
    """Run one turn from ``base`` (the stored state at ``version``), streaming its events, and
    store it.

    A finished turn is stored as one transaction (``ProfileStore.record_turn``: the message,
    the reply and the new state, merged with any change stored since ``version``) before its
    ``done`` goes out. A turn that fails, times out or loses its socket keeps the user's
    message alone, as they saw it, and the state as it was. Returns the stored turn's
    ``done`` event, or None when it was not stored.
    """
    result = TurnResult()
    recorded = False
    try:
        recall = svc.recall_for(user_id, manager.catalog)
        async with contextlib.aclosing(stream_turn(manager, base.to_json(), text, svc.gate,
                                                   svc.server.turn_timeout_s, result,
                                                   recall)) as events:
            async for ev in events:
                if ev["type"] == "done" and result.conversation is not None:
                    msg, shown = await run_in_threadpool(_persist, svc, user_id, session,
                                                         manager, text, base, version, result)
                    recorded = True
                    if shown is not None:
                        # a click while the turn ran changed the list on screen: show the
                        # list as stored, not as the turn left it
                        await ws.send_json({"type": "items", "corrected": True,
                                            "items": svc.cards(manager, shown)})
                    ev = {**ev, "message_id": msg}
                await ws.send_json(ev)
    finally:
        if not recorded:
            try:
                await run_in_threadpool(svc.store.add_message, user_id, session.id, "user",
                                        text)
            except Exception:  # do not hide why the turn ended
                log.exception("could not store the message of an unfinished turn")
    return result.done if recorded else None


def _persist(svc: Services, user_id: int, session: Any, manager: Any, text: str,
             base: Conversation, version: int, result: TurnResult
             ) -> tuple[int, list[str] | None]:
    """Store the finished turn (message, reply with tool trace and items, new state) at once;
    returns the reply's message id, and the list on screen when merging changed it."""
    from agent.manager.merge import merge

    assert result.conversation is not None
    ours = result.conversation
    kept = [ours]

    def rebase(stored: dict[str, Any] | None) -> dict[str, Any]:
        kept[0] = merge(base, ours, svc.state_of(session, manager, stored))
        return kept[0].to_json()

    done = result.done
    trace = [{"step": "request", "kind": done.get("kind"), "action": done.get("action"),
              "request": done.get("request"), "reply_source": done.get("reply_source"),
              "memory": done.get("memory") or [], "ms": done.get("ms")},
             *done.get("trace", [])]
    _, reply = svc.store.record_turn(
        user_id, session.id, user_text=text, reply_text=done.get("text", ""),
        tool_trace=trace, items=[c["id"] for c in result.items],
        state=ours.to_json(), based_on=version, rebase=rebase)
    merged = kept[0]
    return reply.id, None if merged is ours or merged.shown == ours.shown else merged.shown
