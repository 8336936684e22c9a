"""Limits on what one client may send or hold: body size, rates, open sockets.

Each limit is a ``ServerSettings`` field and answers with a message that says which limit it
was and what to do. The counters live in this process: one ``tastebud serve`` is one process.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect

if TYPE_CHECKING:
    from recsys.settings import ServerSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RateLimited(Exception):
    """Too many of something in the last minute (HTTP 429 with Retry-After)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BodyLimit:
    """413 for a request body over ``limit`` bytes, before it is read into memory: at once
    when Content-Length says so, else as soon as the streamed body passes the limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(send)
        seen, started, refused = 0, False, False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    # answer now and tell the app the client left: it stops reading, and
                    # whatever it answers instead is dropped
                    refused = True
                    if not started:
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return msg

        async def tracked(msg: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        with contextlib.suppress(ClientDisconnect):
            await self.app(scope, counted, tracked)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"the request body is over the limit of {self.limit} "
                                     "bytes (TASTEBUD_SERVER_MAX_BODY_BYTES); send less"}
                          ).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class RateLimit:
    """At most ``per_minute`` events per key in any 60 s (a sliding window)."""

    def __init__(self, per_minute: int, what: str, setting: str) -> None:
        self.per_minute, self.what, self.setting = per_minute, what, setting
        self._events: dict[Any, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, key: Any) -> float | None:
        """Count one event; None if allowed, else the seconds until one is allowed again."""
        now = time.monotonic()
        with self._lock:
            q = self._events[key]
            while q and now - q[0] >= 60:
                q.popleft()
            if len(q) >= self.per_minute:
                return max(0.1, 60 - (now - q[0]))
            q.append(now)
            if len(self._events) > 10_000:  # forget idle keys so the table cannot grow
                for k in [k for k, v in self._events.items() if not v]:
                    del self._events[k]
            return None

    def message(self, wait: float) -> str:
        return (f"too many {self.what}: at most {self.per_minute} a minute "
                f"({self.setting}); try again in {wait:.0f} s")

    def enforce(self, key: Any) -> None:
        """``check``, raising ``RateLimited`` when over the limit."""
        wait = self.check(key)
        if wait is not None:
            raise RateLimited(self.message(wait), wait)


class SocketCount:
    """Open chat sockets per user and per client address."""

    def __init__(self, per_user: int, per_address: int) -> None:
        self.per_user, self.per_address = per_user, per_address
        self._open: dict[tuple[str, Any], int] = defaultdict(int)
        self._lock = threading.Lock()

    def _take(self, key: tuple[str, Any], limit: int, refusal: str) -> str | None:
        with self._lock:
            if self._open[key] >= limit:
                return refusal
            self._open[key] += 1
            return None

    def _give(self, key: tuple[str, Any]) -> None:
        with self._lock:
            self._open[key] -= 1
            if self._open[key] <= 0:
                del self._open[key]

    def open_address(self, address: str) -> str | None:
        """Count a new socket from ``address``; a message instead when it is one too many."""
        return self._take(("address", address), self.per_address,
                          f"too many open chats from {address}: at most {self.per_address} "
                          "(TASTEBUD_SERVER_MAX_SOCKETS_PER_ADDRESS); close some tabs")

    def open_user(self, user_id: int) -> str | None:
        return self._take(("user", user_id), self.per_user,
                          f"too many open chats for this account: at most {self.per_user} "
                          "(TASTEBUD_SERVER_MAX_SOCKETS_PER_USER); close some tabs")

    def close_address(self, address: str) -> None:
        self._give(("address", address))

    def close_user(self, user_id: int) -> None:
        self._give(("user", user_id))


@dataclass
class Limits:
    """The app's counters, one set per app."""

    signups: RateLimit
    turns: RateLimit
    sockets: SocketCount

    @classmethod
    def of(cls, server: ServerSettings) -> Limits:
        return cls(RateLimit(server.signups_per_minute, "sign-ups from this address",
                             "TASTEBUD_SERVER_SIGNUPS_PER_MINUTE"),
                   RateLimit(server.turns_per_minute, "messages",
                             "TASTEBUD_SERVER_TURNS_PER_MINUTE"),
                   SocketCount(server.max_sockets_per_user, server.max_sockets_per_address))
