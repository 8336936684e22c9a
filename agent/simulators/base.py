"""The user simulator contract: open a conversation, answer questions, judge recommendations."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from agent.state import Attribute


class UserSimulator(ABC):
    """A simulated user who wants one hidden target item per episode."""

    name: ClassVar[str]

    @abstractmethod
    def start(self, user: int, target: int, rng: np.random.Generator) -> list[Attribute]:
        """Begin an episode for ``target``; returns the attributes the user states first."""

    @abstractmethod
    def answer(self, attribute: Attribute) -> bool:
        """Yes or no to "do you want ``attribute``?"."""

    @abstractmethod
    def judge(self, items: Sequence[int]) -> int | None:
        """1-based rank of the item the user accepts in ``items``, or None (all turned down)."""
