"""One chat turn in a worker thread, its events bridged to the event loop through a queue.

``Manager.turn`` is synchronous and CPU-bound (llama.cpp runs in process), so it never runs on
the event loop. Turns wait for a slot of the ``TurnGate`` in arrival order; a turn that
overruns its deadline or fails ends in an error event, and the conversation is left as it was
before the turn (the worker changes a copy), so the user can simply send the next message.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ui.server.managers import TurnGate

if TYPE_CHECKING:
    from agent.manager import Conversation, Manager

log = logging.getLogger(__name__)


@dataclass
class TurnResult:
    """What a finished turn left: the new conversation state and what to store."""

    conversation: Conversation | None = None  # None unless the turn ended with "done"
    done: dict[str, Any] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None


def error_event(code: str, message: str, *, recoverable: bool = True) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "recoverable": recoverable}


def _failure_message(e: BaseException) -> str:
    from recsys.errors import TastebudError

    if isinstance(e, TastebudError):
        return f"{e}; send your message again"
    return "something went wrong on the server while answering; send your message again"


async def stream_turn(manager: Manager, state: dict[str, Any], text: str, gate: TurnGate,
                      timeout_s: float, result: TurnResult,
                      recall: Callable[[str], list[dict[str, Any]]] | None = None
                      ) -> AsyncGenerator[dict[str, Any], None]:
    """Yield the turn's events as JSON objects; ``done`` only once the turn has ended.

    Args:
        state: the conversation before the turn (``Conversation.to_json()``); not changed.
        result: filled in as the turn goes; ``result.conversation`` is the state to keep.
        recall: the person's remembered preferences (``Manager.turn``'s ``recall``).
    """
    from agent.manager import Conversation

    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    stop = threading.Event()
    conv = Conversation.from_json(copy.deepcopy(state))  # the worker's own copy, lists too
    release = await gate.acquire()

    def put(item: tuple[str, Any]) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone: nobody listens any more
            stop.set()

    def work() -> None:
        try:
            # steps go out the moment they run: the page shows what the turn is doing
            events = manager.turn(conv, text, recall=recall,
                                  live=lambda ev: None if stop.is_set() else put(("event", ev)))
            try:
                for ev in events:
                    if stop.is_set():  # the socket gave up (deadline, disconnect)
                        return
                    put(("event", ev))
            finally:
                close = getattr(events, "close", None)  # a generator: stop it where it is
                if close is not None:
                    close()
            put(("end", None))
        except Exception as e:  # the manager absorbs model errors; this is anything else
            log.exception("chat turn failed")
            put(("fail", e))
        finally:
            release()

    try:
        threading.Thread(target=work, name="tastebud-turn", daemon=True).start()
    except BaseException:
        release()
        raise
    deadline = loop.time() + timeout_s
    done: dict[str, Any] | None = None
    try:
        while True:
            try:
                kind, value = await asyncio.wait_for(queue.get(),
                                                     max(0.0, deadline - loop.time()))
            except TimeoutError:
                result.error = error_event(
                    "timeout", f"the answer took longer than {timeout_s:g} s and was stopped; "
                               "send your message again")
                yield result.error
                return
            if kind == "fail":
                result.error = error_event("turn_failed", _failure_message(value))
                yield result.error
                return
            if kind == "end":
                if done is not None:
                    result.conversation, result.done = conv, done
                    yield done
                return
            data = value.to_json()
            if data["type"] == "done":
                done = data  # held back until the worker has finished with the conversation
                continue
            if data["type"] == "items":
                result.items = data["items"]
            elif data["type"] == "error":
                result.error = data
            yield data
    finally:
        stop.set()
