"""Baselines in the same harness: recommend-only, max-entropy and random asking, and the
authors' environment-side candidate handling (CPR/SCPR/UNICORN code: an accepted attribute
intersects the candidates, a rejected one changes nothing).

The asking baselines share one fixed rule: recommend the scorer's top list when at most
``list_size`` candidates remain, when no reachable attribute splits them, or on the last turn;
otherwise ask. Candidates are hard-filtered by every answer (``max_entropy``, ``random_ask``)
or by acceptances only (``authors_env``), so comparing them isolates what rejection handling
is worth, and a flipped answer (noisy users) can remove the target for good.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from agent.policies.context import PolicyContext
from agent.policy import Action, Ask, Policy, Recommend
from agent.state import DialogueState


class RecommendOnly(Policy):
    """The scorer's top list among the candidates, every turn; never asks."""

    name = "recommend_only"

    def __init__(self, context: PolicyContext) -> None:
        self.ctx = context

    def act(self, state: DialogueState) -> Action:
        items = state.candidates
        scores = self.ctx.scorer.scores(state.user)[items]
        return Recommend(tuple(int(i) for i in self.ctx.top(items, scores, state.list_size)))


class PopularityOnly(Policy):
    """The most-liked candidates (graph "likes" edges), every turn; never asks, no taste."""

    name = "popularity"

    def __init__(self, context: PolicyContext) -> None:
        self.ctx = context
        ui = context.graph.matrices.user_item
        self.counts = np.asarray(ui.sum(axis=0)).ravel().astype(np.float64)

    def act(self, state: DialogueState) -> Action:
        items = state.candidates
        return Recommend(tuple(int(i) for i in
                               self.ctx.top(items, self.counts[items], state.list_size)))


class _FilteringAsker(Policy):
    """Hard-filters candidates on answers, asks by ``_pick``, recommends by the fixed rule."""

    use_rejections: ClassVar[bool] = True

    def __init__(self, context: PolicyContext, seed: int = 0) -> None:
        self.ctx = context
        self.seed = seed

    def filtered(self, state: DialogueState) -> np.ndarray:
        items = state.candidates
        keep = np.ones(len(items), dtype=bool)
        for attribute, yes in state.answered:
            if yes or self.use_rejections:
                keep &= self.ctx.has(items, attribute) == yes
        # a flipped answer can empty the set: then fall back to the hard facts alone
        return items[keep] if keep.any() else items

    def act(self, state: DialogueState) -> Action:
        ctx = self.ctx
        items = self.filtered(state)
        scores = ctx.scorer.scores(state.user)[items]
        top = ctx.top(items, scores, state.list_size)
        if state.is_last_turn or len(items) <= state.list_size:
            return Recommend(tuple(int(i) for i in top))
        counts = ctx.attribute_mass(items, np.ones(len(items)))
        if state.asked:
            counts[ctx.cols(state.asked)] = 0.0
        splitting = np.flatnonzero((counts > 0) & (counts < len(items)))
        if not len(splitting):
            return Recommend(tuple(int(i) for i in top))
        best = self._pick(state, splitting, counts[splitting] / len(items))
        return Ask((ctx.mats.attributes[best],))

    def _pick(self, state: DialogueState, cols: np.ndarray, share: np.ndarray) -> int:
        """The column to ask among ``cols`` (``share`` = fraction of candidates having it)."""
        from agent.policies.graph import binary_entropy

        return int(cols[int(np.argmax(binary_entropy(share)))])


class MaxEntropy(_FilteringAsker):
    """Ask the attribute that splits the candidates most evenly (counts, not preferences)."""

    name = "max_entropy"


class RandomAsk(_FilteringAsker):
    """Ask a random reachable attribute (seeded by the episode, so runs repeat exactly)."""

    name = "random_ask"

    def _pick(self, state: DialogueState, cols: np.ndarray, share: np.ndarray) -> int:
        rng = np.random.default_rng([self.seed, state.user, state.turn, len(state.candidates)])
        return int(cols[rng.integers(len(cols))])


class AuthorsEnv(_FilteringAsker):
    """Max-entropy asking on the authors' candidate handling: rejections filter nothing."""

    name = "authors_env"
    use_rejections = False
