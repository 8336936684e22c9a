"""``ProfileStore``: the one way in and out of the profiles tables.

Every write is one transaction (an error leaves nothing half-written), every argument is
checked before anything is written, and every method that touches a session or preference
takes the acting user's id and refuses records of other users.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col, select

from profiles import validate as v
from profiles.db import WRITE_OPTION
from profiles.errors import AuthenticationError, ForbiddenError, InvalidInputError, NotFoundError
from profiles.models import (
    ChatSession,
    Feedback,
    ListEdit,
    Message,
    Preference,
    User,
    VersionedState,
)
from profiles.tables import (
    FEEDBACK_KINDS,
    ROLES,
    SOURCES,
    ChatSessionRow,
    FeedbackRow,
    ListEditRow,
    MessageRow,
    PreferenceRow,
    UserRow,
)

_TOKEN_PREFIX = "tb_"  # lets secret scanners and people recognise a leaked Tastebud token
_AUTO_TITLE = 60
R = TypeVar("R", FeedbackRow, ListEditRow)
# A change of a session's dialogue state: the state as stored now (None: none yet) -> the new
# one. The store calls it inside the write transaction, with the session row locked, so no
# other change can come in between the read and the write.
StateChange = Callable[[dict[str, Any] | None], dict[str, Any]]
# a session's dialogue state is loaded only by get_state: listings and checks skip the JSON
_NO_STATE = defer(cast(QueryableAttribute[Any], ChatSessionRow.state))


def hash_token(token: str) -> str:
    """sha256 of a token; tokens are 256-bit random, so a fast unsalted hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _title_from(text: str) -> str:
    """A session title from its first user message: first line, at most 60 characters."""
    line = " ".join(text.split("\n", 1)[0].split())
    return line if len(line) <= _AUTO_TITLE else line[:_AUTO_TITLE - 1].rstrip() + "…"


class ProfileStore:
    """Users, chat sessions (with their dialogue state), messages, feedback, list edits and
    preferences on one engine.

    The engine's schema must be at the latest migration: build it with
    ``profiles.db.get_profile_engine`` or ``profiles.db.open_store``.
    """

    def __init__(self, engine: Engine, *, token_idle_days: int = 0) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self.token_idle_days = token_idle_days  # a token unused this long stops; 0: never

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self._writer, expire_on_commit=False) as s, s.begin():
            yield s

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self.engine) as s, s.begin():
            yield s

    # -- users ------------------------------------------------------------------------------

    def create_user(self, name: str) -> tuple[User, str]:
        """A new account and its sign-in token (shown this once; only its hash is stored)."""
        name = v.text("name", name, v.MAX_NAME)
        token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = UserRow(name=name, token_hash=hash_token(token), created_at=_now())
        with self._write() as s:
            s.add(row)
            s.flush()
            user = User.model_validate(row)
        return user, token

    def authenticate(self, token: str) -> User:
        """The user a sign-in token belongs to."""
        if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX) or len(token) > 200:
            raise AuthenticationError("the token is malformed; Tastebud tokens start with "
                                      f"'{_TOKEN_PREFIX}': copy the whole token, or sign up again")
        with self._read() as s:
            row = s.exec(select(UserRow).where(
                UserRow.token_hash == hash_token(token))).one_or_none()
            if row is None:
                raise AuthenticationError("the token matches no user (mistyped, replaced by a "
                                          "new one, or the account was deleted); use your "
                                          "current token, or sign up again")
            user, used = User.model_validate(row), row.token_used_at or row.created_at
        now = _now()
        if self.token_idle_days and now - used > timedelta(days=self.token_idle_days):
            raise AuthenticationError(
                f"the token was last used on {used:%Y-%m-%d} and expired after "
                f"{self.token_idle_days} days unused; sign up again")
        if now - used > timedelta(days=1):  # at most one write a day per account
            with self._write() as s:
                self._user(s, user.id).token_used_at = now
        return user

    def rotate_token(self, user_id: int) -> str:
        """A new sign-in token for the account (shown this once); the old one stops working."""
        token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._write() as s:
            row = self._user(s, user_id)
            row.token_hash, row.token_used_at = hash_token(token), _now()
        return token

    def get_user(self, user_id: int) -> User:
        with self._read() as s:
            return User.model_validate(self._user(s, user_id))

    def rename_user(self, user_id: int, name: str) -> User:
        name = v.text("name", name, v.MAX_NAME)
        with self._write() as s:
            row = self._user(s, user_id)
            row.name = name
            s.flush()
            return User.model_validate(row)

    def delete_user(self, user_id: int) -> None:
        """Delete an account with everything it owns (sessions, messages, feedback, profile)."""
        with self._write() as s:
            s.delete(self._user(s, user_id))

    # -- chat sessions ----------------------------------------------------------------------

    def create_session(self, user_id: int, catalog: str, title: str = "", *,
                       state: dict[str, Any] | None = None) -> ChatSession:
        """A new session; ``state`` is its first dialogue state (see ``save_state``)."""
        catalog = v.text("catalog", catalog, v.MAX_CATALOG)
        title = v.text("title", title, v.MAX_TITLE, blank_ok=True)
        doc = None if state is None else v.state(state)
        with self._write() as s:
            self._user(s, user_id)
            now = _now()
            row = ChatSessionRow(user_id=user_id, catalog=catalog, title=title,
                                 created_at=now, updated_at=now, state=doc)
            s.add(row)
            s.flush()
            return ChatSession.model_validate(row)

    def list_sessions(self, user_id: int, *, catalog: str | None = None,
                      limit: int = 100) -> list[ChatSession]:
        """The user's sessions, most recently active first."""
        limit = v.ident("limit", limit)
        with self._read() as s:
            self._user(s, user_id)
            q = select(ChatSessionRow).options(_NO_STATE).where(
                ChatSessionRow.user_id == user_id)
            if catalog is not None:
                q = q.where(ChatSessionRow.catalog == catalog)
            q = q.order_by(col(ChatSessionRow.updated_at).desc(),
                           col(ChatSessionRow.id).desc()).limit(limit)
            return [ChatSession.model_validate(r) for r in s.exec(q)]

    def unused_session(self, user_id: int, catalog: str) -> ChatSession | None:
        """The user's newest session on ``catalog`` that nothing happened in yet (no message,
        feedback or list edit): a new chat reuses it rather than leaving empty ones behind."""
        from sqlalchemy import exists

        with self._read() as s:
            self._user(s, user_id)
            used = [exists().where(t.session_id == ChatSessionRow.id)
                    for t in (MessageRow, FeedbackRow, ListEditRow)]
            q = select(ChatSessionRow).options(_NO_STATE).where(
                ChatSessionRow.user_id == user_id, ChatSessionRow.catalog == catalog,
                *(~u for u in used)).order_by(col(ChatSessionRow.id).desc()).limit(1)
            row = s.exec(q).first()
            return None if row is None else ChatSession.model_validate(row)

    def get_session(self, user_id: int, session_id: int) -> ChatSession:
        with self._read() as s:
            return ChatSession.model_validate(self._session(s, user_id, session_id))

    def rename_session(self, user_id: int, session_id: int, title: str) -> ChatSession:
        title = v.text("title", title, v.MAX_TITLE, blank_ok=True)
        with self._write() as s:
            row = self._session(s, user_id, session_id)
            row.title, row.updated_at = title, _now()
            s.flush()
            return ChatSession.model_validate(row)

    def delete_session(self, user_id: int, session_id: int) -> None:
        """Delete a session with its messages and state; its feedback and list edits stay."""
        with self._write() as s:
            s.delete(self._session(s, user_id, session_id))

    # -- dialogue state ---------------------------------------------------------------------

    def get_state(self, user_id: int, session_id: int) -> dict[str, Any] | None:
        """The session's dialogue state as last saved; None when none was saved yet."""
        return self.read_state(user_id, session_id).state

    def read_state(self, user_id: int, session_id: int) -> VersionedState:
        """The session's dialogue state with its version (0 before the first change)."""
        with self._read() as s:
            self._session(s, user_id, session_id)
            q = select(ChatSessionRow.state, ChatSessionRow.state_version).where(
                ChatSessionRow.id == session_id)
            doc, version = s.exec(q).one()
            return VersionedState(state=None if doc is None else dict(doc), version=int(version))

    def save_state(self, user_id: int, session_id: int, state: dict[str, Any]) -> int:
        """Replace the session's dialogue state (``Conversation.to_json()``, any JSON object);
        returns the new version. Prefer ``update_state``, which cannot lose a change made
        between reading the state and saving it.

        It does not count as activity: the session keeps its place in ``list_sessions``.
        """
        doc = v.state(state)
        with self._write() as s:
            return self._set_state(self._session(s, user_id, session_id, lock=True), doc)

    def update_state(self, user_id: int, session_id: int, change: StateChange
                     ) -> VersionedState:
        """Apply ``change`` to the stored state atomically (read, change, write under the
        session's row lock); returns the new state and version."""
        with self._write() as s:
            row = self._session(s, user_id, session_id, lock=True)
            doc = self._changed(row, change)
            return VersionedState(state=doc, version=self._set_state(row, doc))

    @staticmethod
    def _changed(row: ChatSessionRow, change: StateChange) -> dict[str, Any]:
        # a deep copy: a change that edits the loaded lists in place would also edit the
        # value the ORM compares against, and the write would be skipped as "no change"
        current = None if row.state is None else copy.deepcopy(dict(row.state))
        return v.state(change(current))

    @staticmethod
    def _set_state(row: ChatSessionRow, doc: dict[str, Any]) -> int:
        row.state, row.state_version = doc, row.state_version + 1
        return row.state_version

    # -- messages ---------------------------------------------------------------------------

    def add_message(self, user_id: int, session_id: int, role: str, text: str, *,
                    tool_trace: Sequence[dict[str, Any]] = (),
                    items: Sequence[str] = ()) -> Message:
        """Append one turn; the first user message also titles an untitled session."""
        role = v.choice("role", role, ROLES)
        text = v.text("text", text, v.MAX_MESSAGE, blank_ok=role == "assistant")
        trace, shown = v.trace(tool_trace), v.item_ids("items", items)
        with self._write() as s:
            sess = self._session(s, user_id, session_id)
            row = self._append(s, sess, session_id, role, text, trace, shown)
            return Message.model_validate(row)

    def record_turn(self, user_id: int, session_id: int, *, user_text: str, reply_text: str,
                    tool_trace: Sequence[dict[str, Any]] = (), items: Sequence[str] = (),
                    state: dict[str, Any], based_on: int | None = None,
                    rebase: StateChange | None = None) -> tuple[Message, Message]:
        """Store one finished turn: the user's message, the assistant's reply (with the tool
        trace behind it and the items it showed) and the session's new dialogue state.

        One transaction: all three are written, or on any error none of them (the messages
        and the state never disagree). Returns the user's and the assistant's ``Message``.

        Args:
            based_on: the state version the turn started from. When the stored state has
                moved on since (a like from the page, another tab's turn), ``rebase`` gets the
                stored state and returns the state to keep (the turn's changes on top of the
                others'); without ``rebase`` the turn's ``state`` replaces it.
        """
        user_text = v.text("user_text", user_text, v.MAX_MESSAGE)
        reply_text = v.text("reply_text", reply_text, v.MAX_MESSAGE, blank_ok=True)
        trace, shown, doc = v.trace(tool_trace), v.item_ids("items", items), v.state(state)
        with self._write() as s:
            sess = self._session(s, user_id, session_id, lock=True)
            asked = self._append(s, sess, session_id, "user", user_text, [], [])
            reply = self._append(s, sess, session_id, "assistant", reply_text, trace, shown)
            moved = based_on is not None and sess.state_version != based_on
            self._set_state(sess, self._changed(sess, rebase) if moved and rebase else doc)
            s.flush()
            return Message.model_validate(asked), Message.model_validate(reply)

    def history(self, user_id: int, session_id: int, *, last: int | None = None
                ) -> list[Message]:
        """The session's messages in order; only the ``last`` ones when given."""
        with self._read() as s:
            self._session(s, user_id, session_id)
            q = select(MessageRow).where(MessageRow.session_id == session_id)
            if last is None:
                rows = list(s.exec(q.order_by(col(MessageRow.id))))
            else:
                q = q.order_by(col(MessageRow.id).desc()).limit(v.ident("last", last))
                rows = list(s.exec(q))[::-1]
            return [Message.model_validate(r) for r in rows]

    # -- feedback and list edits ------------------------------------------------------------

    def add_feedback(self, user_id: int, *, item_id: str, kind: str,
                     catalog: str | None = None, session_id: int | None = None,
                     rating: float | None = None, critique: str | None = None,
                     shown: Sequence[str] = (), state_change: StateChange | None = None
                     ) -> Feedback:
        """Record a reaction to one item (``catalog`` defaults to the session's).

        ``rating`` (0.5 to 5) goes with kind "rating" only; ``critique`` is required for kind
        "critique" and optional for the others ("too scary"). ``state_change`` updates the
        session's dialogue state in the same transaction (see ``update_state``).
        """
        item_id = v.text("item_id", item_id, v.MAX_ITEM_ID)
        kind = v.choice("kind", kind, FEEDBACK_KINDS)
        if kind == "rating":
            if rating is None:
                raise InvalidInputError("kind 'rating' needs a rating from 0.5 to 5")
            rating = v.rating(rating)
        elif rating is not None:
            raise InvalidInputError(f"a rating goes with kind 'rating', not '{kind}'; "
                                    "drop the rating or use kind='rating'")
        if critique is not None:
            critique = v.text("critique", critique, v.MAX_CRITIQUE, blank_ok=kind != "critique")
            critique = critique or None
        elif kind == "critique":
            raise InvalidInputError("kind 'critique' needs the critique text")
        shown_ids = v.item_ids("shown", shown)
        with self._write() as s:
            locked = self._lock_for(s, user_id, session_id, state_change)
            cat = self._catalog_for(s, user_id, session_id, catalog)
            row = FeedbackRow(user_id=user_id, session_id=session_id, catalog=cat,
                              item_id=item_id, kind=kind, rating=rating, critique=critique,
                              shown=shown_ids, created_at=_now())
            s.add(row)
            if locked is not None and state_change is not None:
                self._set_state(locked, self._changed(locked, state_change))
            s.flush()
            return Feedback.model_validate(row)

    def feedback_for(self, user_id: int, *, catalog: str | None = None,
                     session_id: int | None = None) -> list[Feedback]:
        """The user's feedback, oldest first."""
        with self._read() as s:
            rows = self._events(s, FeedbackRow, user_id, catalog, session_id)
            return [Feedback.model_validate(r) for r in rows]

    def add_list_edit(self, user_id: int, *, shown: Sequence[str], edited: Sequence[str],
                      catalog: str | None = None, session_id: int | None = None,
                      state_change: StateChange | None = None) -> ListEdit:
        """Record a list as shown and as the user left it (reordered, items removed);
        ``state_change`` as for ``add_feedback``."""
        shown_ids, edited_ids = v.item_ids("shown", shown), v.item_ids("edited", edited)
        with self._write() as s:
            locked = self._lock_for(s, user_id, session_id, state_change)
            cat = self._catalog_for(s, user_id, session_id, catalog)
            row = ListEditRow(user_id=user_id, session_id=session_id, catalog=cat,
                              shown=shown_ids, edited=edited_ids, created_at=_now())
            s.add(row)
            if locked is not None and state_change is not None:
                self._set_state(locked, self._changed(locked, state_change))
            s.flush()
            return ListEdit.model_validate(row)

    def list_edits_for(self, user_id: int, *, catalog: str | None = None,
                       session_id: int | None = None) -> list[ListEdit]:
        """The user's list edits, oldest first."""
        with self._read() as s:
            rows = self._events(s, ListEditRow, user_id, catalog, session_id)
            return [ListEdit.model_validate(r) for r in rows]

    # -- natural-language profile -----------------------------------------------------------

    def profile(self, user_id: int) -> list[Preference]:
        """The user's preference statements, oldest first."""
        with self._read() as s:
            self._user(s, user_id)
            q = select(PreferenceRow).where(PreferenceRow.user_id == user_id)
            rows = s.exec(q.order_by(col(PreferenceRow.id)))
            return [Preference.model_validate(r) for r in rows]

    def add_preference(self, user_id: int, text: str, *, source: str = "user",
                       context: str | None = None, catalog: str | None = None,
                       rule: dict[str, Any] | None = None,
                       evidence: dict[str, Any] | None = None,
                       context_vector: Sequence[float] | None = None) -> Preference:
        """Add a statement; ``context`` is the situation a learner inferred it in, ``rule``
        what it means in ``catalog``'s fields, ``evidence`` the edit it came from and
        ``context_vector`` the context's embedding (retrieval by similar situations)."""
        text = v.text("text", text, v.MAX_PREFERENCE)
        source = v.choice("source", source, SOURCES)
        if context is not None:
            context = v.text("context", context, v.MAX_CONTEXT, blank_ok=True) or None
        if catalog is not None:
            catalog = v.text("catalog", catalog, v.MAX_CATALOG)
        doc, ev = (None if x is None else v.state(x) for x in (rule, evidence))
        vec = None if context_vector is None else [float(x) for x in context_vector]
        with self._write() as s:
            self._user(s, user_id)
            now = _now()
            row = PreferenceRow(user_id=user_id, text=text, source=source, context=context,
                                catalog=catalog, rule=doc, evidence=ev, context_vector=vec,
                                created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            return Preference.model_validate(row)

    def learned(self, user_id: int, catalog: str) -> list[tuple[Preference, list[float]]]:
        """The user's learned preferences about ``catalog`` with their context embeddings,
        oldest first (what CIPHER retrieves from)."""
        with self._read() as s:
            self._user(s, user_id)
            q = select(PreferenceRow).where(PreferenceRow.user_id == user_id,
                                            PreferenceRow.catalog == catalog,
                                            col(PreferenceRow.context_vector).is_not(None))
            return [(Preference.model_validate(r), list(r.context_vector or []))
                    for r in s.exec(q.order_by(col(PreferenceRow.id)))]

    def update_preference(self, user_id: int, preference_id: int, text: str, *,
                          source: str = "user", rule: dict[str, Any] | None = None
                          ) -> Preference:
        """Rewrite a statement; a statement the user rewrote becomes theirs (source "user").
        A learned one keeps its context and takes ``rule``, what the new words say in its
        catalog's fields (None: the words say nothing the catalog can apply)."""
        text = v.text("text", text, v.MAX_PREFERENCE)
        source = v.choice("source", source, SOURCES)
        doc = None if rule is None else v.state(rule)
        with self._write() as s:
            row = self._preference(s, user_id, preference_id)
            row.text, row.source, row.updated_at = text, source, _now()
            if row.catalog is not None:
                row.rule = doc
            s.flush()
            return Preference.model_validate(row)

    def delete_preference(self, user_id: int, preference_id: int) -> None:
        with self._write() as s:
            s.delete(self._preference(s, user_id, preference_id))

    def set_profile(self, user_id: int, texts: Sequence[str]) -> list[Preference]:
        """Replace the profile with ``texts`` (the user edited it as a whole).

        Statements whose text is unchanged keep their id, source and dates; the others are
        deleted, and new texts are added as the user's own.
        """
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise InvalidInputError("texts must be a list of statements, one per preference")
        wanted = [v.text(f"texts[{i}]", t, v.MAX_PREFERENCE) for i, t in enumerate(texts)]
        with self._write() as s:
            self._user(s, user_id)
            q = select(PreferenceRow).where(PreferenceRow.user_id == user_id)
            old: dict[str, PreferenceRow] = {}
            drop: list[int | None] = []
            for r in s.exec(q.order_by(col(PreferenceRow.id))):
                if r.text in wanted and r.text not in old:
                    old[r.text] = r
                else:
                    drop.append(r.id)
            if drop:
                s.exec(delete(PreferenceRow).where(col(PreferenceRow.id).in_(drop)))
            now, out, seen = _now(), [], set()
            for t in wanted:
                if t in seen:  # the same statement twice is once
                    continue
                seen.add(t)
                row = old.get(t) or PreferenceRow(user_id=user_id, text=t, source="user",
                                                  created_at=now, updated_at=now)
                s.add(row)
                out.append(row)
            s.flush()
            return sorted((Preference.model_validate(r) for r in out), key=lambda p: p.id)

    # -- lookups and writes inside a transaction --------------------------------------------

    @staticmethod
    def _append(s: Session, sess: ChatSessionRow, session_id: int, role: str, text: str,
                trace: list[dict[str, Any]], items: list[str]) -> MessageRow:
        """Add a message to ``sess`` (checked arguments); a first user message titles it."""
        now = _now()
        row = MessageRow(session_id=session_id, role=role, text=text, tool_trace=trace,
                         items=items, created_at=now)
        s.add(row)
        sess.updated_at = now
        if not sess.title and role == "user":
            sess.title = _title_from(text)
        s.flush()  # one INSERT at a time: ids follow the order of the turn
        return row

    @staticmethod
    def _user(s: Session, user_id: int) -> UserRow:
        row = s.get(UserRow, v.ident("user_id", user_id))
        if row is None:
            raise NotFoundError("user", user_id, "sign up first (create_user), or check the id")
        return row

    def _lock_for(self, s: Session, user_id: int, session_id: int | None,
                  change: StateChange | None) -> ChatSessionRow | None:
        """The session row, locked, when ``change`` will change its state. Taken first in
        the transaction: locks taken in one order everywhere cannot deadlock."""
        if change is None:
            return None
        if session_id is None:
            raise InvalidInputError("a state change needs the session_id it applies to")
        return self._session(s, user_id, session_id, lock=True)

    def _session(self, s: Session, user_id: int, session_id: int, *, lock: bool = False
                 ) -> ChatSessionRow:
        """The user's session row; ``lock``: held until the transaction ends (PostgreSQL's
        FOR NO KEY UPDATE, which rows referencing the session do not wait for; SQLite's write
        transactions already hold the database's write lock)."""
        self._user(s, user_id)
        row = s.get(ChatSessionRow, v.ident("session_id", session_id), options=[_NO_STATE],
                    with_for_update={"key_share": True} if lock else None)
        if row is None:
            raise NotFoundError("session", session_id,
                                "start one with create_session, or pick one from list_sessions")
        if row.user_id != user_id:
            raise ForbiddenError("session", session_id, user_id)
        return row

    def _preference(self, s: Session, user_id: int, preference_id: int) -> PreferenceRow:
        self._user(s, user_id)
        row = s.get(PreferenceRow, v.ident("preference_id", preference_id))
        if row is None:
            raise NotFoundError("preference", preference_id,
                                "it may have been deleted; read the profile again")
        if row.user_id != user_id:
            raise ForbiddenError("preference", preference_id, user_id)
        return row

    def _catalog_for(self, s: Session, user_id: int, session_id: int | None,
                     catalog: str | None) -> str:
        """The catalog an event is about: given, or the session's; both must agree."""
        if catalog is not None:
            catalog = v.text("catalog", catalog, v.MAX_CATALOG)
        if session_id is None:
            if catalog is None:
                raise InvalidInputError("give the catalog, or the session_id it happened in")
            self._user(s, user_id)
            return catalog
        sess = self._session(s, user_id, session_id)
        if catalog is not None and catalog != sess.catalog:
            raise InvalidInputError(f"catalog '{catalog}' is not session {session_id}'s "
                                    f"catalog '{sess.catalog}'; omit catalog or fix it")
        return sess.catalog

    def _events(self, s: Session, table: type[R], user_id: int, catalog: str | None,
                session_id: int | None) -> list[R]:
        if session_id is None:
            self._user(s, user_id)
        else:
            self._session(s, user_id, session_id)
        q = select(table).where(table.user_id == user_id)
        if catalog is not None:
            q = q.where(table.catalog == catalog)
        if session_id is not None:
            q = q.where(table.session_id == session_id)
        return list(s.exec(q.order_by(col(table.id))))
