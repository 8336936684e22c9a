"""Sign-up and the signed-in account."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from ui.server.deps import ServicesDep, UserDep
from ui.server.schemas import Rename, SignedUp, SignUp, User

router = APIRouter(prefix="/api", tags=["users"])


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=SignedUp)
def sign_up(body: SignUp, request: Request, svc: ServicesDep) -> SignedUp:
    """Create an account; the token in the answer is shown once (only its hash is kept)."""
    svc.limits.signups.enforce(request.client.host if request.client else "?")
    user, token = svc.store.create_user(body.name)
    return SignedUp(user=user, token=token)


@router.post("/me/token", response_model=SignedUp)
def rotate_token(user: UserDep, svc: ServicesDep) -> SignedUp:
    """A new sign-in token for your account; the old one stops working at once."""
    return SignedUp(user=user, token=svc.store.rotate_token(user.id))


@router.get("/me", response_model=User)
def me(user: UserDep) -> User:
    return user


@router.patch("/me", response_model=User)
def rename(body: Rename, user: UserDep, svc: ServicesDep) -> User:
    return svc.store.rename_user(user.id, body.name)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
def delete_account(user: UserDep, svc: ServicesDep) -> None:
    """Delete the account with its sessions, feedback and profile."""
    svc.store.delete_user(user.id)
