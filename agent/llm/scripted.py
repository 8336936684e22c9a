"""``ScriptedChatModel``: a fake that replays scripted replies and records every call (tests)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.llm.base import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    ChatResult,
    JSONSchema,
    LLMResponseError,
    LLMTimeoutError,
    Message,
    ScriptExhaustedError,
    ToolCall,
    Usage,
    as_messages,
    parse_json_reply,
)


@dataclass(frozen=True)
class Timeout:
    """A script step that raises ``LLMTimeoutError`` (after sleeping ``after_s``)."""

    after_s: float = 0.0


# str: text; dict/list: JSON; ToolCall / list of them: tool calls; ChatResult: as is;
# Timeout or an exception instance: raised.
Reply = str | dict[str, Any] | list[Any] | ToolCall | ChatResult | Timeout | BaseException


@dataclass(frozen=True)
class Call:
    """One call the fake received."""

    messages: list[Message]
    tools: list[dict[str, Any]] | None = None
    schema: JSONSchema | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = DEFAULT_TEMPERATURE
    stream: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def last_user(self) -> str:
        return next((m.content for m in reversed(self.messages) if m.role == "user"), "")


class ScriptedChatModel:
    """Replays ``replies`` in order, one per ``generate``/``stream`` call.

    Args:
        replies: the script (see ``Reply``).
        fallback: reply used once the script is spent; None raises ``ScriptExhaustedError``.
        name: what ``model.name`` reports.
    """

    def __init__(self, replies: Iterable[Reply] = (), *, fallback: Reply | None = None,
                 name: str = "scripted") -> None:
        self.name = name
        self.replies: list[Reply] = list(replies)
        self.fallback = fallback
        self.calls: list[Call] = []
        self._next = 0
        self._lock = threading.Lock()  # callers may share the fake across threads, like real ones

    @property
    def remaining(self) -> int:
        return len(self.replies) - self._next

    def _take(self, call: Call) -> Reply:
        with self._lock:
            self.calls.append(call)
            if self._next < len(self.replies):
                reply = self.replies[self._next]
                self._next += 1
                return reply
        if self.fallback is not None:
            return self.fallback
        raise ScriptExhaustedError(
            f"ScriptedChatModel '{self.name}' ran out of replies: call {len(self.calls)} but the "
            f"script has {len(self.replies)}; the unexpected call's last user message was "
            f"{call.last_user[:120]!r}. Add a reply to the script (or pass fallback=...).")

    def generate(self, messages: Sequence[Message], *,
                 tools: Sequence[dict[str, Any]] | None = None, schema: JSONSchema | None = None,
                 max_tokens: int = DEFAULT_MAX_TOKENS,
                 temperature: float = DEFAULT_TEMPERATURE) -> ChatResult:
        """The next scripted reply as a ``ChatResult`` (JSON checked against ``schema``)."""
        call = Call(as_messages(messages), list(tools) if tools else None, schema, max_tokens,
                    temperature)
        return _to_result(self._take(call), schema)

    def stream(self, messages: Sequence[Message], *, max_tokens: int = DEFAULT_MAX_TOKENS,
               temperature: float = DEFAULT_TEMPERATURE) -> Iterator[str]:
        """The next scripted reply's text, a word (with its leading space) at a time."""
        call = Call(as_messages(messages), None, None, max_tokens, temperature, stream=True)
        # Taken now, not lazily, so the call is recorded (and errors raised) even if unconsumed.
        text = _to_result(self._take(call), None).text
        return _pieces(re.findall(r"\s*\S+|\s+$", text))


def _pieces(words: list[str]) -> Generator[str, None, None]:
    """A generator, like every backend's stream: a caller may ``close()`` it part-way."""
    yield from words


def _to_result(reply: Reply, schema: JSONSchema | None) -> ChatResult:
    if isinstance(reply, Timeout):
        time.sleep(reply.after_s)
        raise LLMTimeoutError(f"scripted timeout after {reply.after_s:g}s")
    if isinstance(reply, BaseException):
        raise reply
    if isinstance(reply, ChatResult):
        return reply
    if isinstance(reply, ToolCall) or (
            isinstance(reply, list) and reply and all(isinstance(c, ToolCall) for c in reply)):
        calls = (reply,) if isinstance(reply, ToolCall) else tuple(reply)
        return ChatResult("", tool_calls=calls, usage=Usage(), finish_reason="tool_calls")
    if isinstance(reply, dict | list):
        text = json.dumps(reply)
    elif isinstance(reply, str):
        text = reply
    else:
        raise TypeError(f"a scripted reply of type {type(reply).__name__} is not supported; "
                        "use str, dict/list (JSON), ToolCall, ChatResult, Timeout or an exception")
    parsed = None
    if schema is not None:
        try:
            parsed = parse_json_reply(text, schema)
        except LLMResponseError as e:
            # Same error a real backend raises, so tests exercise the caller's handling.
            raise LLMResponseError(f"scripted reply: {e}") from e
    words = len(text.split())
    return ChatResult(text, json=parsed, usage=Usage(0, words, 0.0), finish_reason="stop")
