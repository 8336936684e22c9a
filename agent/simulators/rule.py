"""The binary-question user of the CPR / SCPR / UNICORN protocol (BENCHMARKS.md section 1).

Opening: one attribute drawn uniformly from the target's; a question is accepted iff the target
has the attribute; a list succeeds iff it contains the target. The noisy variant flips each
answer to a question with probability ``noise`` (the opening stays truthful).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agent.simulators.base import UserSimulator
from agent.state import Attribute
from recsys.graph import CatalogGraph


class RuleSimulator(UserSimulator):
    """Answers truthfully from the target item's attributes (``noise`` flips answers)."""

    name = "rule"

    def __init__(self, graph: CatalogGraph, noise: float = 0.0) -> None:
        if not 0.0 <= noise <= 1.0:
            raise ValueError(f"noise must be a probability, got {noise}")
        self.graph = graph
        self.noise = noise
        self._target = -1
        self._attrs: set[Attribute] = set()
        self._rng = np.random.default_rng(0)

    def start(self, user: int, target: int, rng: np.random.Generator) -> list[Attribute]:
        mats = self.graph.matrices
        cols = mats.attrs_of(target)  # sorted columns: the draw is reproducible from rng
        if not len(cols):
            raise ValueError(f"target item {target} has no attribute to state")
        self._target, self._rng = int(target), rng
        self._attrs = {mats.attributes[c] for c in cols.tolist()}
        return [mats.attributes[int(cols[rng.integers(len(cols))])]]

    def answer(self, attribute: Attribute) -> bool:
        truth = tuple(attribute) in self._attrs
        if self.noise and self._rng.random() < self.noise:
            return not truth
        return truth

    def judge(self, items: Sequence[int]) -> int | None:
        for rank, i in enumerate(items, 1):
            if int(i) == self._target:
                return rank
        return None


class NoisyRuleSimulator(RuleSimulator):
    """The rule user who flips each answer with probability ``noise`` (default 0.1)."""

    name = "noisy"

    def __init__(self, graph: CatalogGraph, noise: float = 0.1) -> None:
        super().__init__(graph, noise)
