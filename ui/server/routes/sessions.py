"""Chat sessions of the signed-in user: create, list, read with history, rename, delete;
feedback and list edits on their items; "why?" for an item."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, status
from starlette.concurrency import run_in_threadpool

from recsys.errors import UnknownItemError
from ui.server.deps import ServicesDep, UserDep
from ui.server.feedback import record_feedback, record_list_edit
from ui.server.schemas import (
    ChatSession,
    Feedback,
    FeedbackIn,
    ListEdit,
    ListEditIn,
    SessionCreate,
    SessionOut,
    SessionUpdate,
)

router = APIRouter(prefix="/api/sessions", tags=["sessions"])
SessionId = Annotated[int, Path(ge=1, le=2**62)]
# the page's own socket (its "tab" from ready): the other tabs on the session are told
TabHeader = Annotated[str | None, Header(alias="X-Tastebud-Tab", max_length=40)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ChatSession)
def create_session(body: SessionCreate, user: UserDep, svc: ServicesDep) -> ChatSession:
    """Start a chat over a catalog (loading the catalog's models on first use)."""
    name = svc.catalog_name(body.catalog)
    manager = svc.pool.get(name)
    conv = manager.start(body.catalog_user)  # an unknown catalog user is refused here
    conv = svc.remembered(user.id, name, conv)  # earlier sessions' likes, dislikes, seen
    return svc.store.create_session(user.id, name, body.title, state=conv.to_json())


@router.get("", response_model=list[ChatSession])
def list_sessions(user: UserDep, svc: ServicesDep,
                  catalog: Annotated[str | None, Query(max_length=100)] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[ChatSession]:
    """Your sessions, most recently active first."""
    return svc.store.list_sessions(user.id, catalog=catalog, limit=limit)


@router.get("/{session_id}", response_model=SessionOut)
def get_session(session_id: SessionId, user: UserDep, svc: ServicesDep) -> SessionOut:
    """A session with its messages (and their item cards) and the list on screen."""
    session = svc.store.get_session(user.id, session_id)
    manager = svc.pool.get(session.catalog)
    conv = svc.conversation(session, manager)
    messages: list[dict[str, Any]] = []
    for m in svc.store.history(user.id, session_id):
        messages.append({**m.model_dump(mode="json"), "cards": svc.cards(manager, m.items)})
    return SessionOut(session=session, messages=messages, shown=svc.cards(manager, conv.shown),
                      liked=conv.liked, disliked=conv.disliked, seen=conv.seen)


@router.patch("/{session_id}", response_model=ChatSession)
def rename_session(session_id: SessionId, body: SessionUpdate, user: UserDep,
                   svc: ServicesDep) -> ChatSession:
    return svc.store.rename_session(user.id, session_id, body.title)


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_session(session_id: SessionId, user: UserDep, svc: ServicesDep) -> None:
    """Delete the session with its messages and state; feedback and list edits stay."""
    svc.store.delete_session(user.id, session_id)


@router.post("/{session_id}/feedback", status_code=status.HTTP_201_CREATED,
             response_model=Feedback)
def add_feedback(session_id: SessionId, body: FeedbackIn, user: UserDep, svc: ServicesDep,
                 tab: TabHeader = None) -> Feedback:
    """Like, dislike, seen, a rating (0.5-5) or a critique of an item in this session."""
    fb = record_feedback(svc, user.id, session_id, body)
    svc.hub.notify(session_id, besides=tab)
    return fb


@router.get("/{session_id}/feedback", response_model=list[Feedback])
def list_feedback(session_id: SessionId, user: UserDep, svc: ServicesDep) -> list[Feedback]:
    return svc.store.feedback_for(user.id, session_id=session_id)


@router.post("/{session_id}/list-edits", status_code=status.HTTP_201_CREATED,
             response_model=ListEdit)
def add_list_edit(session_id: SessionId, body: ListEditIn, user: UserDep, svc: ServicesDep,
                  tab: TabHeader = None) -> ListEdit:
    """The recommendation list as shown and as you left it (removed, reordered)."""
    edit = record_list_edit(svc, user.id, session_id, body)
    svc.hub.notify(session_id, besides=tab)
    return edit


@router.get("/{session_id}/list-edits", response_model=list[ListEdit])
def list_edits(session_id: SessionId, user: UserDep, svc: ServicesDep) -> list[ListEdit]:
    return svc.store.list_edits_for(user.id, session_id=session_id)


@router.get("/{session_id}/why/{item_id}")
async def why(session_id: SessionId, item_id: Annotated[str, Path(max_length=200)],
              user: UserDep, svc: ServicesDep) -> dict[str, Any]:
    """Why an item suits you: graph paths from what you liked or asked for, and neighbours."""
    session = await run_in_threadpool(svc.store.get_session, user.id, session_id)
    manager = await svc.pool.aget(session.catalog)
    manager.catalog.item(item_id)  # 404 for an unknown item
    conv = await run_in_threadpool(svc.conversation, session, manager)
    out = await run_in_threadpool(manager.explain, conv, item_id)
    if "error" in out:
        raise UnknownItemError(str(out["error"]))
    return out
