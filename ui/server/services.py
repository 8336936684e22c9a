"""What the routes share: settings, the profile store, managers, the turn gate."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ui.server.hub import SessionHub
from ui.server.limits import Limits
from ui.server.managers import ManagerPool, TurnGate
from ui.server.settings import ServerSettings

if TYPE_CHECKING:
    from agent.manager import Conversation, Manager
    from profiles.cipher import Cipher
    from profiles.models import ChatSession
    from profiles.store import ProfileStore
    from recsys.catalog import Catalog
    from recsys.settings import Settings


log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a request needs; one per app (``app.state.services``)."""

    settings: Settings
    server: ServerSettings
    store: ProfileStore
    pool: ManagerPool
    gate: TurnGate
    limits: Limits
    hub: SessionHub = field(default_factory=SessionHub)
    # one learner at a time per session: two quick clicks must not each add a preference
    # from a half-seen edit of the same list
    _learning: dict[int, threading.Lock] = field(default_factory=dict)
    _learning_guard: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def cipher(self) -> Cipher:
        """The preference learner over this app's store and the configured text encoder."""
        from profiles.cipher import Cipher
        from recsys.embeddings import get_encoder

        return Cipher(self.store, get_encoder(self.settings))

    def recall_for(self, user_id: int, catalog: Catalog
                   ) -> Callable[[str], list[dict[str, Any]]]:
        """What a turn of this person calls for their remembered preferences."""
        manager = self.pool.get(catalog.name)

        def recall(context: str) -> list[dict[str, Any]]:
            try:
                out = [r.to_json() for r in self.cipher.recall(user_id, catalog, context)]
                # what the person wrote in their profile holds everywhere, as the catalog
                # reads it ("no horror"); learned ones hold where they were learned
                for p in self.store.profile(user_id):
                    if p.catalog is None and (rule := manager.rule_of(p.text)):
                        out.append({"id": p.id, "text": p.text, "context": "",
                                    "similarity": 1.0, "rule": rule})
                return out
            except Exception:  # a broken memory must not break the chat
                log.exception("recalling preferences failed")
                return []

        return recall

    def learn(self, session: ChatSession, manager: Manager, *,
              before: list[str] | None = None, turned_down: list[str] = (),
              reason: dict[str, Any] | None = None) -> None:
        """Learn from what the person has done to the list on screen since it was shown.

        The whole edit of one list counts, however many clicks it took (taking two horror
        films off one by one says "no Horror", not twice "fewer Horror"): the list as the
        last reply showed it against what is left of it now, liked items kept and disliked
        ones taken off. What this list taught before is replaced, not added to. A failure is
        logged, never the person's error (their edit is stored already).

        ``before``: for a chat turn that turned items down ("not number 3", "I don't like the
        second one"), the list as it was before the turn; ``turned_down``: those items;
        ``reason``: why, as the turn read it ("too long": {"ranges": ...}).
        """
        with self._learning_guard:
            lock = self._learning.setdefault(session.id, threading.Lock())
        with lock:
            self._learn(session, manager, before, turned_down, reason)

    def _learn(self, session: ChatSession, manager: Manager, before: list[str] | None,
               turned_down: list[str], reason: dict[str, Any] | None = None) -> None:
        try:
            user_id = session.user_id
            conv = self.conversation(session, manager)
            history = [m for m in self.store.history(user_id, session.id, last=20)
                       if m.role == "assistant" and m.items]
            down = set(conv.disliked) | set(turned_down)
            if before is not None:  # the list the turn's words were about
                last = next((m for m in reversed(history) if set(m.items) == set(before)), None)
                shown = list(before)
                kept = [i for i in shown if i not in down]
            else:
                last = history[-1] if history else None
                shown = list(last.items) if last else []
                kept = [i for i in shown if i in conv.shown and i not in down]
            if not shown or len(kept) == len(shown):
                return
            if last is not None:
                for p in self.store.profile(user_id):
                    if p.source == "edit" and (p.evidence or {}).get("message") == last.id:
                        self.store.delete_preference(user_id, p.id)
            reader = None
            if self.settings.profile_infer == "llm" and manager.llm is not None:
                from profiles.llm_infer import LLMInfer

                reader = LLMInfer(manager.llm)
            self.cipher.learn(user_id, manager.catalog, conv.context, shown, kept,
                              key=manager.situation(conv.context),
                              about={"session": session.id,
                                     "message": last.id if last else None}, reason=reason,
                              infer=reader)
        except Exception:
            log.exception("learning from an edit failed")

    def catalogs(self) -> list[dict[str, Any]]:
        """Imported catalogs, with whether their manager is loaded."""
        from recsys.db import get_engine
        from recsys.store import list_catalogs

        loaded = set(self.pool.loaded())
        return [{"name": c.name, "title": c.title or c.name, "items": c.n_items,
                 "users": c.n_users, "loaded": c.name in loaded,
                 "default": c.name == self.settings.catalog, **_words(c.spec_json)}
                for c in sorted(list_catalogs(get_engine(self.settings.database_url)),
                                key=lambda c: c.name)]

    def catalog_name(self, name: str | None) -> str:
        """``name`` or the default catalog; an unknown name lists the imported ones."""
        from recsys.errors import UnknownNameError

        name = name or self.settings.catalog
        names = [c["name"] for c in self.catalogs()]
        if name not in names:
            raise UnknownNameError("catalog", name, names)
        return name

    def conversation(self, session: ChatSession, manager: Manager) -> Conversation:
        """The session's dialogue state (a fresh one if none was saved yet)."""
        return self.versioned(session, manager)[0]

    def versioned(self, session: ChatSession, manager: Manager) -> tuple[Conversation, int]:
        """The session's dialogue state and its version (see ``ProfileStore.read_state``)."""
        stored = self.store.read_state(session.user_id, session.id)
        return self.state_of(session, manager, stored.state), stored.version

    def state_of(self, session: ChatSession, manager: Manager,
                 data: dict[str, Any] | None) -> Conversation:
        """A stored state as a conversation; a fresh one, knowing earlier sessions, if None."""
        from agent.manager import Conversation

        if data:
            return Conversation.from_json(data)
        return self.remembered(session.user_id, session.catalog, manager.start(None))

    def remembered(self, user_id: int, catalog: str, conv: Conversation) -> Conversation:
        """A new conversation that knows what this person said about items in earlier
        sessions: likes and dislikes seed the ranking, seen items are not suggested again
        (the newest verdict on an item wins; items the catalog no longer has are skipped)."""
        index = self.pool.get(catalog).catalog.item_index
        events: list[tuple[Any, str, str]] = []  # (when, item, verdict)
        for fb in self.store.feedback_for(user_id, catalog=catalog):
            if fb.kind in ("like", "dislike", "seen"):
                events.append((fb.created_at, fb.item_id, fb.kind))
            elif fb.kind == "rating" and fb.rating is not None:
                events.append((fb.created_at, fb.item_id, "like" if fb.rating >= 4 else
                               "dislike" if fb.rating <= 2 else "seen"))
        for edit in self.store.list_edits_for(user_id, catalog=catalog):
            kept = set(edit.edited)  # removed from a list: turned down
            events += [(edit.created_at, i, "dislike") for i in edit.shown if i not in kept]
        verdict: dict[str, str] = {}
        for _, item, kind in sorted(events, key=lambda e: e[0]):
            if item in index:
                verdict[item] = kind
        conv.liked = [i for i, k in verdict.items() if k == "like"]
        conv.disliked = [i for i, k in verdict.items() if k == "dislike"]
        conv.seen = [i for i, k in verdict.items() if k == "seen"]
        return conv

    def cards(self, manager: Manager, item_ids: list[str]) -> list[dict[str, Any]]:
        """Item cards for catalog ids, in order; ids the catalog no longer has are left out."""
        index = manager.catalog.item_index
        return [manager.card(index[i], k + 1) for k, i in enumerate(
            [i for i in item_ids if i in index])]


def _words(spec_json: str) -> dict[str, str]:
    """What the catalog calls its items, an example request and whom its texts are credited
    to, from its stored spec."""
    import json

    try:
        spec = json.loads(spec_json or "{}")
        words = spec.get("words") or {}
    except (ValueError, AttributeError):
        spec, words = {}, {}
    return {"item_word": str(words.get("items") or "items"),
            "example": str(words.get("example") or ""),
            "credits": str(spec.get("credits") or "")}
