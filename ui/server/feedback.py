"""Feedback and list edits: stored as taste data, and applied to the session's dialogue state
so the next turn respects them (a removed or disliked item is not recommended again)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recsys.errors import UnknownItemError
from ui.server.schemas import FeedbackIn, ListEditIn

if TYPE_CHECKING:
    from agent.manager import Manager
    from profiles.models import Feedback, ListEdit
    from ui.server.services import Services


def _check_items(manager: Manager, ids: list[str]) -> None:
    index = manager.catalog.item_index
    bad = [i for i in ids if i not in index]
    if bad:
        raise UnknownItemError(f"catalog '{manager.catalog.name}' has no item "
                               f"{', '.join(repr(b) for b in bad[:5])}; use ids from the "
                               "item cards or /api/items")


def record_feedback(svc: Services, user_id: int, session_id: int, body: FeedbackIn
                    ) -> Feedback:
    """Store a reaction to an item of a session and apply it to the session's state, in one
    transaction under the session's lock (nothing else can change the state in between)."""
    session = svc.store.get_session(user_id, session_id)
    manager = svc.pool.get(session.catalog)
    _check_items(manager, [body.item_id, *(body.shown or [])])
    kind = body.kind
    if kind == "rating" and body.rating is not None:  # a rating is a like or dislike too
        kind = "like" if body.rating >= 4 else "dislike" if body.rating <= 2 else "rating"
    shown = body.shown
    if shown is None:  # the list on screen as the page had it (read once, for the record)
        shown = svc.conversation(session, manager).shown

    def change(state: dict[str, Any] | None) -> dict[str, Any]:
        conv = svc.state_of(session, manager, state)
        if kind in ("like", "dislike", "seen"):
            conv.judge(body.item_id, kind)
        return conv.to_json()

    fb = svc.store.add_feedback(user_id, item_id=body.item_id, kind=body.kind,
                                session_id=session_id, rating=body.rating,
                                critique=body.critique, shown=shown, state_change=change)
    if kind == "dislike" and body.item_id in shown:  # "not this one": an edit of the list
        svc.learn(session, manager)
    return fb


def record_list_edit(svc: Services, user_id: int, session_id: int, body: ListEditIn
                     ) -> ListEdit:
    """Store a list as shown and as left; the list left becomes the list on screen (one
    transaction with the state change, as for feedback)."""
    session = svc.store.get_session(user_id, session_id)
    manager = svc.pool.get(session.catalog)
    _check_items(manager, [*body.shown, *body.edited])

    def change(state: dict[str, Any] | None) -> dict[str, Any]:
        conv = svc.state_of(session, manager, state)
        conv.edit_list(list(body.shown), list(body.edited))
        return conv.to_json()

    edit = svc.store.add_list_edit(user_id, shown=body.shown, edited=body.edited,
                                   session_id=session_id, state_change=change)
    if set(body.shown) - set(body.edited):  # items taken off: learn why
        svc.learn(session, manager)
    return edit
