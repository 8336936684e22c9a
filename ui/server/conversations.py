"""The dialogue state (``Conversation`` JSON) of each chat session, beside the profiles tables.

The profiles store keeps messages, feedback and edits but not the manager's working state
(the standing request, the list on screen, pending question), so the server keeps it here:
one row per session in its own table, created if missing. Callers check that the session
belongs to the user (``ProfileStore.get_session``) before reading or writing a state.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, delete, insert, select
from sqlalchemy.engine import Engine

_META = MetaData()
STATES = Table(
    "ui_conversation_states", _META,
    Column("session_id", Integer, primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("state", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class ConversationStates:
    """Load and save one session's ``Conversation.to_json()``."""

    def __init__(self, engine: Engine) -> None:
        from profiles.db import WRITE_OPTION

        _META.create_all(engine, checkfirst=True)
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    def load(self, user_id: int, session_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(STATES.c.state).where(
                STATES.c.session_id == session_id, STATES.c.user_id == user_id)).first()
        return json.loads(row[0]) if row else None

    def save(self, user_id: int, session_id: int, state: dict[str, Any]) -> None:
        doc = json.dumps(state, allow_nan=False)
        with self._writer.begin() as conn:  # replace in one transaction
            conn.execute(delete(STATES).where(STATES.c.session_id == session_id))
            conn.execute(insert(STATES).values(session_id=session_id, user_id=user_id,
                                               state=doc, updated_at=datetime.now(UTC)))

    def forget(self, session_id: int) -> None:
        with self._writer.begin() as conn:
            conn.execute(delete(STATES).where(STATES.c.session_id == session_id))
