"""The signed-in user's natural-language profile: statements they can read and edit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from ui.server.deps import ServicesDep, UserDep
from ui.server.schemas import Preference, PreferenceIn, ProfileIn

router = APIRouter(prefix="/api/profile", tags=["profile"])
PreferenceId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("", response_model=list[Preference])
def read_profile(user: UserDep, svc: ServicesDep) -> list[Preference]:
    return svc.store.profile(user.id)


@router.put("", response_model=list[Preference])
def replace_profile(body: ProfileIn, user: UserDep, svc: ServicesDep) -> list[Preference]:
    """Replace the profile (unchanged statements keep their history)."""
    return svc.store.set_profile(user.id, body.texts)


@router.post("/preferences", status_code=status.HTTP_201_CREATED, response_model=Preference)
def add_preference(body: PreferenceIn, user: UserDep, svc: ServicesDep) -> Preference:
    return svc.store.add_preference(user.id, body.text)


@router.patch("/preferences/{preference_id}", response_model=Preference)
def edit_preference(preference_id: PreferenceId, body: PreferenceIn, user: UserDep,
                    svc: ServicesDep) -> Preference:
    """Rewrite a statement. Editing a learned one is feedback too: it becomes yours, and
    what it now says in its catalog's fields is what applies where it was learned."""
    old = next((p for p in svc.store.profile(user.id) if p.id == preference_id), None)
    rule = None
    if old is not None and old.catalog is not None:
        rule = svc.pool.get(old.catalog).rule_of(body.text)
    return svc.store.update_preference(user.id, preference_id, body.text, rule=rule)


@router.delete("/preferences/{preference_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_preference(preference_id: PreferenceId, user: UserDep, svc: ServicesDep) -> None:
    svc.store.delete_preference(user.id, preference_id)
