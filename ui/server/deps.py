"""FastAPI dependencies: the app's services and the signed-in user (``Authorization: Bearer``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from profiles.models import User
from ui.server.services import Services

_bearer = HTTPBearer(auto_error=False, description="The token you got at sign-up.")


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]


def current_user(svc: ServicesDep,
                 creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
                 ) -> User:
    """The user whose token came in the Authorization header (401 otherwise)."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "sign in: send 'Authorization: Bearer <token>' (POST /api/users "
                            "gives a token)", headers={"WWW-Authenticate": "Bearer"})
    return svc.store.authenticate(creds.credentials)


UserDep = Annotated[User, Depends(current_user)]


def optional_user(svc: ServicesDep,
                  creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
                  ) -> User | None:
    """The signed-in user, or None for an anonymous request (a bad token is still a 401)."""
    return None if creds is None else current_user(svc, creds)


MaybeUserDep = Annotated[User | None, Depends(optional_user)]
