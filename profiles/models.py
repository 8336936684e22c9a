"""What ``ProfileStore`` hands out: immutable values, never live ORM rows or token hashes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Role = Literal["user", "assistant"]
FeedbackKind = Literal["like", "dislike", "seen", "rating", "critique"]
Source = Literal["edit", "feedback", "user"]  # inferred from a list edit, from feedback; typed


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class User(_Value):
    """An app account (the token is shown once, at sign-up, and never stored)."""

    id: int
    name: str
    created_at: datetime


class ChatSession(_Value):
    """One conversation of a user over one catalog."""

    id: int
    user_id: int
    catalog: str
    title: str
    created_at: datetime
    updated_at: datetime


class VersionedState(_Value):
    """A session's dialogue state (None before the first save) and its version."""

    state: dict[str, Any] | None
    version: int


class Message(_Value):
    """One turn: its text, the tool calls behind it and the catalog item ids it showed."""

    id: int
    session_id: int
    role: Role
    text: str
    tool_trace: list[dict[str, Any]]
    items: list[str]
    created_at: datetime


class Feedback(_Value):
    """A reaction to one item, with the items that were on screen at the time."""

    id: int
    user_id: int
    session_id: int | None
    catalog: str
    item_id: str
    kind: FeedbackKind
    rating: float | None
    critique: str | None
    shown: list[str]
    created_at: datetime


class ListEdit(_Value):
    """A recommendation list as shown and as the user left it."""

    id: int
    user_id: int
    session_id: int | None
    catalog: str
    shown: list[str]
    edited: list[str]
    created_at: datetime


class Preference(_Value):
    """One statement of a user's natural-language profile."""

    id: int
    user_id: int
    text: str
    source: Source
    context: str | None
    created_at: datetime
    updated_at: datetime
    catalog: str | None = None  # learned ones: the catalog their rule speaks of
    rule: dict[str, Any] | None = None  # {"exclude": {field: [values]}, "less": ..., ...}
    evidence: dict[str, Any] | None = None  # the edit: shown, kept and removed item ids
