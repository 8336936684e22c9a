"""The profiles tables (SQLModel): users, chat sessions (with their dialogue state), messages,
feedback, list edits and natural-language preference statements.

They live in their own metadata (``PROFILES_METADATA``), not in SQLModel's default one that
the catalog tables use, so ``recsys.db``'s ``create_all`` never creates or alters them: only
the Alembic migrations in ``profiles/migrations`` do. Every table name starts with
``profiles_`` so both families can share one database without colliding.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, get_args

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, Index, Integer, MetaData, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import registry
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from profiles.models import FeedbackKind, Role, Source

# Deterministic constraint names, so later migrations can name what they drop on any dialect
# (SQLite's batch mode recreates tables and needs the names).
PROFILES_METADATA = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

ROLES: tuple[str, ...] = get_args(Role)
FEEDBACK_KINDS: tuple[str, ...] = get_args(FeedbackKind)
SOURCES: tuple[str, ...] = get_args(Source)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every dialect (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one, e.g. datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ProfilesTable(SQLModel, registry=registry(metadata=PROFILES_METADATA)):
    """Base of the profiles tables (their own registry and metadata)."""


class UserRow(ProfilesTable, table=True):
    """An app account; the sign-in token is kept only as its sha256."""

    __tablename__ = "profiles_user"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UtcDateTime)
    # last use of the token, to the day (None: not since sign-up); unused tokens expire
    token_used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ChatSessionRow(ProfilesTable, table=True):
    """One conversation of a user over one catalog."""

    __tablename__ = "profiles_session"
    __table_args__ = (Index("ix_profiles_session_user", "user_id", "updated_at"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="profiles_user.id", ondelete="CASCADE")
    catalog: str = Field(max_length=100)
    title: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
    # The dialogue manager's working state (``agent.manager.Conversation.to_json()``): the
    # standing request, the list on screen, a pending question. None (SQL NULL) until a turn
    # or a reaction saves one. The store leaves it unloaded unless it is asked for.
    state: dict[str, Any] | None = Field(default=None, sa_type=JSON(none_as_null=True))
    # +1 on every change of ``state``: a turn that started from version n and finds n+k
    # merges the k changes made meanwhile instead of writing over them
    # (no client-side default: rows written by older code, without the column, read 0)
    state_version: int = Field(default=0, sa_column=Column(Integer, nullable=False,
                                                           server_default="0"))


class MessageRow(ProfilesTable, table=True):
    """One turn's text, with the tool trace behind it and the items it showed."""

    __tablename__ = "profiles_message"
    __table_args__ = (Index("ix_profiles_message_session", "session_id", "id"),
                      CheckConstraint(_in("role", ROLES), name="role"))
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="profiles_session.id", ondelete="CASCADE")
    role: str = Field(max_length=16)
    text: str = Field(sa_type=Text)
    tool_trace: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    items: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(sa_type=UtcDateTime)


class FeedbackRow(ProfilesTable, table=True):
    """A reaction to one item; kept when its chat session is deleted (it is taste data)."""

    __tablename__ = "profiles_feedback"
    __table_args__ = (Index("ix_profiles_feedback_user", "user_id", "catalog", "item_id"),
                      CheckConstraint(_in("kind", FEEDBACK_KINDS), name="kind"),
                      CheckConstraint("rating IS NULL OR (rating >= 0.5 AND rating <= 5)",
                                      name="rating"))
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="profiles_user.id", ondelete="CASCADE")
    session_id: int | None = Field(default=None, foreign_key="profiles_session.id",
                                   ondelete="SET NULL", index=True)
    catalog: str = Field(max_length=100)
    item_id: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    rating: float | None = None
    critique: str | None = Field(default=None, sa_type=Text)
    shown: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(sa_type=UtcDateTime)


class ListEditRow(ProfilesTable, table=True):
    """A recommendation list as shown and as the user left it (CIPHER learns from the pair)."""

    __tablename__ = "profiles_list_edit"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="profiles_user.id", ondelete="CASCADE", index=True)
    session_id: int | None = Field(default=None, foreign_key="profiles_session.id",
                                   ondelete="SET NULL", index=True)
    catalog: str = Field(max_length=100)
    shown: list[str] = Field(default_factory=list, sa_type=JSON)
    edited: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(sa_type=UtcDateTime)


class PreferenceRow(ProfilesTable, table=True):
    """One statement of a user's natural-language profile ("likes slow-burn sci-fi")."""

    __tablename__ = "profiles_preference"
    __table_args__ = (CheckConstraint(_in("source", SOURCES), name="source"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="profiles_user.id", ondelete="CASCADE", index=True)
    text: str = Field(max_length=500)
    source: str = Field(max_length=16)
    # the situation it was inferred in (CIPHER retrieves by it); None when the user wrote it
    context: str | None = Field(default=None, sa_type=Text)
    # learned ones: the catalog, the rule in its fields ({"exclude": {"genre": ["Horror"]}}),
    # the edit it came from (shown, kept, removed item ids) and the context's embedding
    catalog: str | None = Field(default=None, max_length=100)
    rule: dict[str, Any] | None = Field(default=None, sa_type=JSON(none_as_null=True))
    evidence: dict[str, Any] | None = Field(default=None, sa_type=JSON(none_as_null=True))
    context_vector: list[float] | None = Field(default=None,
                                               sa_type=JSON(none_as_null=True))
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
