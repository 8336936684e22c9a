"""Which sockets are open on which session, so a change made in one tab reaches the others.

After a turn is stored, or a like or list edit lands, every other socket on that session gets
``{"type": "sync", "session_id": N}`` and its page reloads the session (messages, list and
verdicts), so two tabs on one conversation show the same thing. Sync events carry no data:
the page reads the stored session, the one source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tab:
    """One open socket: its id (the page sends it with REST calls) and how to reach it."""

    id: str
    ws: Any
    loop: asyncio.AbstractEventLoop


class SessionHub:
    def __init__(self) -> None:
        self._tabs: dict[int, dict[str, Tab]] = {}
        self._lock = threading.Lock()

    def join(self, session_id: int, ws: Any) -> Tab:
        tab = Tab(secrets.token_urlsafe(8), ws, asyncio.get_running_loop())
        with self._lock:
            self._tabs.setdefault(session_id, {})[tab.id] = tab
        return tab

    def leave(self, session_id: int, tab: Tab) -> None:
        with self._lock:
            tabs = self._tabs.get(session_id, {})
            tabs.pop(tab.id, None)
            if not tabs:
                self._tabs.pop(session_id, None)

    def notify(self, session_id: int, *, besides: str | None = None) -> int:
        """Tell the session's other tabs that it changed (from any thread); how many."""
        with self._lock:
            tabs = [t for t in self._tabs.get(session_id, {}).values() if t.id != besides]
        event = {"type": "sync", "session_id": session_id}
        for t in tabs:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                asyncio.run_coroutine_threadsafe(_send(t, event), t.loop)
        return len(tabs)


async def _send(tab: Tab, event: dict[str, Any]) -> None:
    try:
        await tab.ws.send_json(event)
    except Exception:  # a tab closing as it is told: it reloads when it opens again
        log.debug("sync to tab %s failed", tab.id, exc_info=True)
