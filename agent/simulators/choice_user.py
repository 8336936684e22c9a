"""A preference-aligned simulated user: real history, a real next choice, a learned chooser.

Each episode is a real scene: the user's history before the choice, and the item they really
chose next as the target. Questions get the target's truth, except that a user asked about a
value the target lacks says yes as often as their history has it, halved (people answer from
taste, not from one item). Shown a list, the user takes the target when it is there; when it
is not, they take the listed item, not one they had already watched, that the trained choice
model prefers to the target, if any:
a good-enough item ends the search, as it does for people. ``recall@10`` in the simulate
report counts only target hits, so a lenient user cannot flatter a policy there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agent.simulators.base import UserSimulator
from agent.simulators.choosers import Chooser
from agent.simulators.scenes import Scene
from agent.state import Attribute
from recsys.graph import CatalogGraph

BROAD_FIELD = 64  # a field with at most this many values (genre, rating) is a broad want


class ChoiceUser(UserSimulator):
    """The user of ``scenes`` (keyed by (user, target)), choosing with ``chooser``."""

    name = "choice_model"

    def __init__(self, graph: CatalogGraph, chooser: Chooser, scenes: Sequence[Scene],
                 seen: dict[int, set[int]] | None = None) -> None:
        self.graph, self.chooser = graph, chooser
        self.scenes = {(s.user, s.chosen): s for s in scenes}
        # what each user had already watched: never taken again as "something new"
        self.seen = seen or {s.user: set(s.history) for s in scenes}
        self._scene: Scene | None = None
        self._attrs: set[Attribute] = set()
        self._taste: dict[int, float] = {}
        self._rng = np.random.default_rng(0)
        self._field_sizes: dict[str, int] = {}
        for f, _ in graph.matrices.attributes:
            self._field_sizes[f] = self._field_sizes.get(f, 0) + 1

    def start(self, user: int, target: int, rng: np.random.Generator) -> list[Attribute]:
        scene = self.scenes.get((int(user), int(target)))
        if scene is None:
            raise KeyError(f"no scene for user {user} choosing item {target}; the choice "
                           "user plays only the scenes it was built with")
        mats = self.graph.matrices
        cols = mats.attrs_of(target)
        if not len(cols):
            raise ValueError(f"target item {target} has no attribute to state")
        self._scene, self._rng = scene, rng
        self._attrs = {mats.attributes[c] for c in cols.tolist()}
        # people open with a broad want ("a comedy"), not a keyword only the target has
        broad = [c for c in cols.tolist()
                 if self._field_sizes[mats.attributes[c][0]] <= BROAD_FIELD]
        cols = np.asarray(broad) if broad else cols
        hist = scene.history
        share: dict[int, float] = {}
        for i in hist:
            for c in mats.attrs_of(i).tolist():
                share[c] = share.get(c, 0.0) + 1.0 / max(len(hist), 1)
        self._taste = share
        return [mats.attributes[int(cols[rng.integers(len(cols))])]]

    def answer(self, attribute: Attribute) -> bool:
        if tuple(attribute) in self._attrs:
            return True
        col = self.graph.matrices.attr_index.get((attribute[0], attribute[1]))
        p = 0.5 * self._taste.get(col, 0.0) if col is not None else 0.0
        return bool(self._rng.random() < p)

    def judge(self, items: Sequence[int]) -> int | None:
        if self._scene is None:
            raise RuntimeError("judge() before start()")
        target = self._scene.chosen
        listed = [int(i) for i in items]
        if target in listed:
            return listed.index(target) + 1
        seen = self.seen.get(self._scene.user, set())
        fresh = [k for k, i in enumerate(listed) if i not in seen]
        if not fresh:
            return None
        scores = np.asarray(self.chooser.scores(self._scene,
                                                [*(listed[k] for k in fresh), target]))
        best = int(np.argmax(scores[:-1]))
        return fresh[best] + 1 if scores[best] > scores[-1] else None
