"""Feedback and list edits: stored as taste data, and applied to the session's dialogue state
so the next turn respects them (a removed or disliked item is not recommended again)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    """Store a reaction to an item of a session and update the session's state."""
    session = svc.store.get_session(user_id, session_id)
    manager = svc.pool.get(session.catalog)
    _check_items(manager, [body.item_id, *(body.shown or [])])
    conv = svc.conversation(session, manager)
    fb = svc.store.add_feedback(user_id, item_id=body.item_id, kind=body.kind,
                                session_id=session_id, rating=body.rating,
                                critique=body.critique,
                                shown=conv.shown if body.shown is None else body.shown)
    kind = body.kind
    if kind == "rating" and body.rating is not None:  # a rating is a like or dislike too
        kind = "like" if body.rating >= 4 else "dislike" if body.rating <= 2 else "rating"
    buckets = {"like": conv.liked, "dislike": conv.disliked, "seen": conv.seen}
    if kind in buckets:
        for other in ("like", "dislike"):  # a later like overrides an earlier dislike
            if other != kind and body.item_id in buckets[other]:
                buckets[other].remove(body.item_id)
        if body.item_id not in buckets[kind]:
            buckets[kind].append(body.item_id)
        svc.save_conversation(session, conv)
    return fb


def record_list_edit(svc: Services, user_id: int, session_id: int, body: ListEditIn
                     ) -> ListEdit:
    """Store a list as shown and as left; the list left becomes the list on screen."""
    session = svc.store.get_session(user_id, session_id)
    manager = svc.pool.get(session.catalog)
    _check_items(manager, [*body.shown, *body.edited])
    edit = svc.store.add_list_edit(user_id, shown=body.shown, edited=body.edited,
                                   session_id=session_id)
    conv = svc.conversation(session, manager)
    removed = [i for i in body.shown if i not in body.edited]
    conv.shown = list(dict.fromkeys(body.edited))
    conv.ever_shown = list(dict.fromkeys([*conv.ever_shown, *conv.shown]))
    # taking an item off the list is "not this one": keep it from coming back
    conv.disliked += [i for i in removed if i not in conv.disliked]
    if conv.focus in removed:
        conv.focus = None
    svc.save_conversation(session, conv)
    return edit
