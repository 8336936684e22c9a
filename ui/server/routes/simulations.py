"""Simulated dialogues (``tastebud simulate --store``): listed and replayed, read-only.

They are synthetic (a simulated user over a real scene, talking with the manager), so every
signed-in user may read them; nobody can write to them (their owner cannot sign in).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from ui.server.deps import ServicesDep, UserDep
from ui.server.schemas import ChatSession

router = APIRouter(prefix="/api/simulations", tags=["simulations"])


@router.get("", response_model=list[ChatSession])
def list_simulations(user: UserDep, svc: ServicesDep,
                     catalog: Annotated[str | None, Query(max_length=100)] = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[ChatSession]:
    """Stored simulated dialogues, newest first."""
    from profiles.simulations import list_simulated

    return list_simulated(svc.store, catalog=catalog, limit=limit)


@router.get("/{session_id}")
async def replay(session_id: Annotated[int, Path(ge=1, le=2**62)], user: UserDep,
                 svc: ServicesDep) -> dict[str, Any]:
    """One simulated dialogue: its messages with their item cards, and what the episode was
    (target, whether the user took something, leaks). ``read_only`` is always true."""
    from profiles.simulations import read_simulated

    session, info, messages = await run_in_threadpool(read_simulated, svc.store, session_id)
    manager = await svc.pool.aget(session.catalog)
    return {"session": session.model_dump(mode="json"), "simulated": info, "read_only": True,
            "messages": [{**m.model_dump(mode="json"), "cards": svc.cards(manager, m.items)}
                         for m in messages]}
