"""Argument checks at the store's boundary: each failure names the argument and the fix."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from profiles.errors import InvalidInputError

MAX_NAME = 100
MAX_TITLE = 200
MAX_CATALOG = 100
MAX_ITEM_ID = 200
MAX_ITEMS = 1_000
MAX_MESSAGE = 100_000
MAX_CRITIQUE = 2_000
MAX_PREFERENCE = 500
MAX_CONTEXT = 10_000
MAX_TRACE_CHARS = 1_000_000
MAX_STATE_CHARS = 1_000_000
RATING_MIN, RATING_MAX = 0.5, 5.0


def ident(name: str, value: Any) -> int:
    """A database id: a positive int."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer id, got {value!r}")
    return value


def text(name: str, value: Any, max_len: int, *, blank_ok: bool = False) -> str:
    """A string of at most ``max_len`` characters; surrounding whitespace is dropped."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string, got {type(value).__name__}")
    value = value.strip()
    if not value and not blank_ok:
        raise InvalidInputError(f"{name} is empty; give some text")
    if len(value) > max_len:
        raise InvalidInputError(f"{name} has {len(value)} characters, at most {max_len} "
                                "are allowed; shorten it")
    if "\x00" in value:  # PostgreSQL text cannot hold NUL; refuse it on every dialect alike
        raise InvalidInputError(f"{name} contains a NUL character; remove it")
    return value


def choice(name: str, value: Any, valid: Sequence[str]) -> str:
    if value not in valid:
        raise InvalidInputError(f"{name} must be one of {', '.join(valid)}; got {value!r}")
    return str(value)


def item_ids(name: str, values: Any) -> list[str]:
    """A list of catalog item ids (strings, as the catalog's ``item_ids``)."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise InvalidInputError(f"{name} must be a list of item ids, got {type(values).__name__}")
    if len(values) > MAX_ITEMS:
        raise InvalidInputError(f"{name} has {len(values)} items, at most {MAX_ITEMS} are allowed")
    return [text(f"{name}[{i}]", v, MAX_ITEM_ID) for i, v in enumerate(values)]


def rating(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidInputError(f"rating must be a number, got {value!r}")
    if not RATING_MIN <= value <= RATING_MAX:
        raise InvalidInputError(
            f"rating {value} is out of range; give {RATING_MIN} to {RATING_MAX} stars")
    return float(value)


def trace(value: Any) -> list[dict[str, Any]]:
    """A turn's tool trace: a list of JSON objects (one per step), strictly JSON-able."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidInputError(f"tool_trace must be a list of steps, got {type(value).__name__}")
    steps = list(value)
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            raise InvalidInputError(f"tool_trace[{i}] must be a JSON object (dict), "
                                    f"got {type(step).__name__}")
    try:
        dumped = json.dumps(steps, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"tool_trace is not JSON-able ({e}); convert the values to "
                                "str, numbers, lists and dicts first") from None
    if len(dumped) > MAX_TRACE_CHARS:
        raise InvalidInputError(f"tool_trace is {len(dumped)} characters of JSON, at most "
                                f"{MAX_TRACE_CHARS}; trim large tool results")
    return json.loads(dumped)  # a private copy: later changes by the caller do not leak in


def state(value: Any) -> dict[str, Any]:
    """A session's dialogue state: a JSON object (dict), strictly JSON-able (no NaN)."""
    if not isinstance(value, dict):
        raise InvalidInputError("state must be a JSON object (dict, e.g. "
                                f"Conversation.to_json()), got {type(value).__name__}")
    try:
        dumped = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"state is not JSON-able ({e}); convert the values to str, "
                                "numbers, lists and dicts first") from None
    if len(dumped) > MAX_STATE_CHARS:
        raise InvalidInputError(f"state is {len(dumped)} characters of JSON, at most "
                                f"{MAX_STATE_CHARS}; trim it")
    return json.loads(dumped)  # a private copy (tuples become lists)
