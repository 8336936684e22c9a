"""What one chat turn emits, in order: text deltas, tool calls, item cards, done or error.

The terminal chat prints them, the web socket sends them as JSON; both read the same stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

EventType = Literal["status", "text", "tool", "items", "question", "done", "error"]
EVENT_TYPES: tuple[str, ...] = ("status", "text", "tool", "items", "question", "done", "error")


@dataclass(frozen=True)
class Event:
    """One event of a turn; ``data`` is JSON-able.

    status: {"text"} what the turn is doing now ("Reading your message…"); text: {"delta"};
    tool: one candidate-bus step with a "label" a person reads; items: {"items": [card, ...]};
    question: {"field", "value"}; done: {"turn", "kind", "text", "trace", "ms"};
    error: {"message", "recoverable"}; with "final": False (the model failed mid-turn) the
    turn goes on to its text and ``done``, otherwise the turn ends there.
    """

    type: EventType
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, **self.data}
