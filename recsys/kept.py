"""The last answers of an expensive lookup, kept: a conversation asks the same things each turn.

"More like X" asks for X's neighbours on every turn while X stays in the request; a known
user's taste scores every item the same way in each turn of a chat. At 1M items each such
answer costs tens of milliseconds, so the newest ``size`` answers are kept (oldest out).
Turns of several chats run in threads, and rankers travel to worker processes: the store is
locked, and a pickled copy starts empty.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class Kept(Generic[V]):
    """``kept.get(key, make)``: ``make()``'s answer for ``key``, computed once while kept."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"Kept needs room for at least one answer, got {size}")
        self.size = size
        self._answers: dict[Hashable, V] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        with self._lock:
            if key in self._answers:
                return self._answers[key]
        value = make()  # outside the lock: two threads may both compute, both right
        with self._lock:
            self._answers[key] = value
            while len(self._answers) > self.size:
                self._answers.pop(next(iter(self._answers)))
        return value

    def peek(self, key: Hashable) -> V | None:
        """The kept answer for ``key``, or None."""
        with self._lock:
            return self._answers.get(key)

    def snapshot(self) -> list[tuple[Hashable, V]]:
        """The kept (key, answer) pairs, newest last."""
        with self._lock:
            return list(self._answers.items())

    def __len__(self) -> int:
        return len(self._answers)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()

    def __getstate__(self) -> dict[str, Any]:
        return {"size": self.size}  # answers are cheap to recompute, locks cannot travel

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["size"])  # type: ignore[misc]
