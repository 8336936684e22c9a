"""Simulated dialogues stored as sessions: read-only, owned by a synthetic "Simulations" user.

``tastebud simulate --store`` saves each manager episode as an ordinary chat session (the same
tables, the same messages with their items), so the web page can replay it like a person's
chat. The owner is one account per database that nobody can sign in as: its token hash is a
marker no sha256 hex digest can equal, so no token authenticates to it and nothing can write
to its sessions through the API. The session's state holds what the episode was
(``{"simulated": {...}}``: target, success, leaks, simulator).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from profiles.errors import NotFoundError
from profiles.models import ChatSession, Message
from profiles.store import ProfileStore
from profiles.tables import ChatSessionRow, UserRow

OWNER_NAME = "Simulations"
OWNER_MARK = "!simulations"  # in token_hash: never a sha256 hex digest, so never signed into


def owner_id(store: ProfileStore, *, create: bool = True) -> int | None:
    """The simulations owner's user id (made on first use when ``create``)."""
    with store._read() as s:
        row = s.exec(select(UserRow).where(UserRow.token_hash == OWNER_MARK)).first()
        if row is not None or not create:
            return None if row is None else row.id
    with store._write() as s:
        row = UserRow(name=OWNER_NAME, token_hash=OWNER_MARK, created_at=datetime.now(UTC))
        s.add(row)
        s.flush()
        return row.id


def store_dialogues(store: ProfileStore, catalog: str, dialogues: Sequence[dict[str, Any]],
                    meta: dict[str, Any] | None = None) -> list[int]:
    """Save each dialogue (``Dialogue.to_json``) as a simulated session; returns their ids."""
    owner = owner_id(store)
    assert owner is not None
    ids: list[int] = []
    for d in dialogues:
        info = {k: d[k] for k in ("user", "target", "target_title", "success", "accepted",
                                  "leaked_title", "ungrounded")}
        verdict = "took one" if d["success"] else "no take"
        title = f"Simulated: {d['turns'][0]['user'][:60]} ({verdict})" if d["turns"] else \
            "Simulated dialogue"
        sess = store.create_session(owner, catalog, title,
                                    state={"simulated": {**info, **(meta or {})}})
        for t in d["turns"]:
            store.add_message(owner, sess.id, "user", t["user"])
            if t.get("assistant") is not None:
                store.add_message(owner, sess.id, "assistant", t["assistant"],
                                  tool_trace=t.get("trace") or [], items=t.get("items") or [])
        ids.append(sess.id)
    return ids


def list_simulated(store: ProfileStore, *, catalog: str | None = None,
                   limit: int = 100) -> list[ChatSession]:
    """Stored simulated sessions, newest first (none before the first ``--store``)."""
    owner = owner_id(store, create=False)
    if owner is None:
        return []
    return store.list_sessions(owner, catalog=catalog, limit=limit)


def read_simulated(store: ProfileStore, session_id: int
                   ) -> tuple[ChatSession, dict[str, Any], list[Message]]:
    """One simulated session: the session, what the episode was, and its messages."""
    owner = owner_id(store, create=False)
    with store._read() as s:
        row = s.get(ChatSessionRow, session_id)
        if owner is None or row is None or row.user_id != owner:
            raise NotFoundError("simulated session", session_id,
                                "list them with GET /api/simulations")
    info = (store.get_state(owner, session_id) or {}).get("simulated", {})
    return store.get_session(owner, session_id), info, store.history(owner, session_id)


__all__ = ["OWNER_NAME", "list_simulated", "owner_id", "read_simulated",
           "store_dialogues"]
