"""Request and response bodies, with limits: bad input is a 422 that names the field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from profiles.models import ChatSession, Feedback, ListEdit, Message, Preference, User

MAX_LIST = 100  # items on one list edit; a recommendation shows 5
MAX_TEXT = 2000  # a chat message (the manager's own limit)
ItemId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
PreferenceText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                  max_length=500)]
FeedbackKind = Literal["like", "dislike", "seen", "rating", "critique"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored


class SignUp(_In):
    name: Name = Field(description="What Tastebud calls you.")


class SignedUp(BaseModel):
    user: User
    token: str = Field(description="Your sign-in token, shown this once: keep it.")


class Rename(_In):
    name: Name


class SessionCreate(_In):
    catalog: Name | None = Field(default=None, description="Catalog name; default: the "
                                                           "server's default catalog.")
    title: Annotated[str, StringConstraints(max_length=200)] = ""
    catalog_user: Name | None = Field(
        default=None, description="Chat as this user of the catalog (their rating history "
                                  "personalises); default: a new user with no history.")


class SessionUpdate(_In):
    title: Annotated[str, StringConstraints(max_length=200)]


class SessionOut(BaseModel):
    session: ChatSession
    messages: list[dict[str, Any]] = Field(description="Each message with its item cards.")
    shown: list[dict[str, Any]] = Field(description="The recommendation list on screen.")
    liked: list[str] = []
    disliked: list[str] = []
    seen: list[str] = []


class FeedbackIn(_In):
    item_id: ItemId
    kind: FeedbackKind
    rating: float | None = Field(default=None, ge=0.5, le=5.0)
    critique: Annotated[str, StringConstraints(max_length=2000)] | None = None
    shown: list[ItemId] | None = Field(default=None, max_length=MAX_LIST,
                                       description="The list on screen; default: the "
                                                   "session's current list.")


class ListEditIn(_In):
    shown: list[ItemId] = Field(max_length=MAX_LIST, description="The list as shown.")
    edited: list[ItemId] = Field(max_length=MAX_LIST,
                                 description="The list as the user left it.")


class ProfileIn(_In):
    texts: list[PreferenceText] = Field(max_length=100)


class PreferenceIn(_In):
    text: PreferenceText


class Health(BaseModel):
    status: Literal["ok"]
    catalogs_loaded: list[str]
    turns_waiting: int


__all__ = ["ChatSession", "Feedback", "FeedbackIn", "Health", "ListEdit", "ListEditIn",
           "Message", "Preference", "PreferenceIn", "ProfileIn", "Rename", "SessionCreate",
           "SessionOut", "SessionUpdate", "SignUp", "SignedUp", "User"]
