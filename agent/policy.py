"""The policy contract: given a dialogue state, ask about attributes or recommend items.

The graph (CPR-style) policy, the baselines and the LLM dialogue manager all implement
``Policy``, so the evaluator can compare them on the same simulated users.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from agent.state import Attribute, DialogueState
from recsys.graph import Node


@dataclass(frozen=True)
class Ask:
    """Ask the user whether they want each of ``attributes`` (one yes/no per attribute)."""

    attributes: tuple[Attribute, ...]

    def __post_init__(self) -> None:
        if not self.attributes:
            raise ValueError("Ask needs at least one attribute")


@dataclass(frozen=True)
class Explanation:
    """Why an item is recommended: graph paths and the sentence they read as."""

    item: int
    text: str
    paths: tuple[tuple[Node, ...], ...] = ()  # each path is a chain of graph edges


@dataclass(frozen=True)
class Recommend:
    """Recommend ``items`` (best first); ``explanations`` align with them when given."""

    items: tuple[int, ...]
    explanations: tuple[Explanation, ...] = ()

    def __post_init__(self) -> None:
        if len(set(self.items)) != len(self.items):
            raise ValueError("Recommend lists an item twice")
        if self.explanations and len(self.explanations) != len(self.items):
            raise ValueError(f"{len(self.items)} items but {len(self.explanations)} explanations")


Action = Ask | Recommend


class Policy(ABC):
    """Decides the system's next move from the state alone (no hidden per-episode memory)."""

    name: ClassVar[str]

    @abstractmethod
    def act(self, state: DialogueState) -> Action:
        """The next action; must be ``Recommend`` when ``state.is_last_turn``."""
