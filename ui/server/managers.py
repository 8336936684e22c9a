"""Dialogue managers per catalog, loaded once, and the queue that turns wait in."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.manager import Manager

ManagerFactory = Callable[[str], "Manager"]


class ManagerPool:
    """One ``Manager`` per catalog, built on first use by ``factory`` (thread-safe)."""

    def __init__(self, factory: ManagerFactory) -> None:
        self.factory = factory
        self._managers: dict[str, Manager] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, catalog: str) -> Manager:
        """The catalog's manager; the first call loads it (slow: call from a worker thread)."""
        if catalog in self._managers:
            return self._managers[catalog]
        with self._lock:
            lock = self._loading.setdefault(catalog, threading.Lock())
        with lock:  # one load per catalog even when many sessions ask at once
            if catalog not in self._managers:
                self._managers[catalog] = self.factory(catalog)
        return self._managers[catalog]

    async def aget(self, catalog: str) -> Manager:
        if catalog in self._managers:
            return self._managers[catalog]
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(self.get, catalog)

    def loaded(self) -> list[str]:
        return sorted(self._managers)


class TurnGate:
    """First come, first served slots for chat turns.

    A slot is held until the turn's worker thread ends, not until its socket stops waiting:
    a turn abandoned after a timeout still occupies the model, and the next one must queue.
    """

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._sem: asyncio.Semaphore | None = None
        self.waiting = 0

    def _semaphore(self) -> asyncio.Semaphore:
        if self._sem is None:  # made in the running loop (the app may be built outside one)
            self._sem = asyncio.Semaphore(self.slots)
        return self._sem

    async def acquire(self) -> Callable[[], None]:
        """Wait for a slot; returns a release function that any thread may call once."""
        sem = self._semaphore()
        loop = asyncio.get_running_loop()
        self.waiting += 1
        try:
            await sem.acquire()
        finally:
            self.waiting -= 1
        released = threading.Event()

        def release() -> None:
            if released.is_set():
                return
            released.set()
            # a closed loop (server shutting down) has nobody waiting for the slot
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(sem.release)

        return release
