"""Security headers on every answer, and Host and Origin checks for the page and the socket.

Host: a page reached under another name (DNS rebinding: evil.example resolving to 127.0.0.1)
gets 421, so a foreign site cannot script this server through the victim's browser. Origin:
a browser names the page that opened a socket or sent a request; a page from another origin
may not chat or write (non-browser clients send no Origin and are let through).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from ui.server.limits import ASGIApp, Receive, Scope, Send

# no inline script or style anywhere in the page (ui/static), so 'self' is enough
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()),
           (b"x-content-type-options", b"nosniff"),
           (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"no-referrer"),
           (b"cross-origin-opener-policy", b"same-origin")]
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _hostname(value: str) -> str:
    """``host[:port]`` or ``[v6]:port`` -> the lower-case host name alone."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """Adds ``HEADERS`` to every HTTP answer; refuses unknown Hosts and foreign Origins."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        extra = {h.lower().strip("[]") for h in allowed_hosts}
        self.hosts = extra | set(LOOPBACK)
        self.any_host = "*" in extra
        self.origins = extra - {"*"}  # pages served elsewhere under these names may call us

    def _problem(self, scope: Scope) -> tuple[int, str] | None:
        headers = {k.decode("latin-1"): v.decode("latin-1")
                   for k, v in scope.get("headers") or []}
        host = _hostname(headers.get("host", ""))
        if not self.any_host and host not in self.hosts:
            return 421, (f"this server does not answer to the host name '{host[:100]}'; open "
                         "it by an allowed name (TASTEBUD_SERVER_ALLOWED_HOSTS)")
        origin = headers.get("origin")
        if not origin or not (scope["type"] == "websocket" or scope.get("method") in _UNSAFE):
            return None
        parts = urlsplit(origin)
        same = origin != "null" and parts.netloc.lower() == headers.get("host", "").lower()
        if not same and (origin == "null" or (parts.hostname or "") not in self.origins):
            return 403, (f"requests from pages of {origin[:100]} are not allowed; use "
                         "Tastebud's own page")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        problem = self._problem(scope)
        if scope["type"] == "websocket":
            if problem:
                # before accept: the handshake is refused (HTTP 403), no socket opens
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008, "reason": problem[1][:120]})
                return
            return await self.app(scope, receive, send)
        if problem:
            body = json.dumps({"detail": problem[1]}).encode()
            await send({"type": "http.response.start", "status": problem[0],
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()), *HEADERS]})
            await send({"type": "http.response.body", "body": body})
            return

        async def with_headers(msg: dict) -> None:  # type: ignore[type-arg]
            if msg["type"] == "http.response.start":
                have = {k.lower() for k, _ in msg.get("headers", [])}
                msg["headers"] = [*msg.get("headers", []),
                                  *(h for h in HEADERS if h[0] not in have)]
            await send(msg)

        await self.app(scope, receive, with_headers)
