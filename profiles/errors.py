"""Domain errors of ``profiles``: each message says what was wrong and what to do."""

from __future__ import annotations

from recsys.errors import TastebudError


class InvalidInputError(TastebudError, ValueError):
    """An argument failed validation; nothing was written."""


class AuthenticationError(TastebudError):
    """A sign-in token matches no user."""


class NotFoundError(TastebudError, LookupError):
    """A user, chat session or preference id that the database does not hold."""

    def __init__(self, kind: str, ident: int, hint: str) -> None:
        self.kind, self.ident = kind, ident
        super().__init__(f"no {kind} with id {ident}; {hint}")


class ForbiddenError(TastebudError, PermissionError):
    """A user asked for a record that belongs to another user."""

    def __init__(self, kind: str, ident: int, user_id: int) -> None:
        self.kind, self.ident, self.user_id = kind, ident, user_id
        super().__init__(f"{kind} {ident} belongs to another user, not to user {user_id}; "
                         f"use one of user {user_id}'s own {kind}s")


class MigrationError(TastebudError):
    """The database schema cannot be brought to the revision this code expects."""
