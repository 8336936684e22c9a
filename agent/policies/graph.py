"""Graph path reasoning policy (CPR / SCPR family) with a belief over the candidate items.

Per turn, from the state alone:
1. belief over the candidates (items that have every stated attribute and were not turned
   down): prior = softmax of the hybrid preference scores; times the likelihood of the opening
   statement (a user names one of the wanted item's attributes, so an item with many attributes
   explains a given statement less well: P(statement | item) ~ 1 / #attributes); times the
   likelihood of every answer so far: an item that disagrees with an answer keeps
   ``noise / (1 - noise)`` of its weight (with ``noise = 0`` it is dropped; with ``noise > 0``
   one wrong answer cannot lose the target). With ``noise="auto"`` the policy is not told the
   user's flip rate: it averages the belief over a grid of rates, each weighted by how well it
   explains the answers so far;
2. recommend when the top ``list_size`` items hold at least ``confidence`` of the belief mass,
   when few items are left, or on the last turn;
3. otherwise ask the attribute, reachable from the accepted ones through the candidates
   (adjacency pruning), whose yes-probability under the belief is closest to one half
   (largest weighted entropy of the answer).
Every recommended item carries an explanation path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from agent.policies.context import PolicyContext
from agent.policy import Action, Ask, Policy, Recommend
from agent.state import DialogueState


@dataclass
class GraphPolicyConfig:
    """Knobs tuned on the valid split (see benchmarks/RESULTS_cpr.md)."""

    # assumed probability that an answer is flipped; "auto": estimated from the answers
    # themselves (Bayesian model averaging over NOISE_GRID), as a deployment must
    noise: float | str = 0.0
    temperature: float = 1.0  # belief = softmax(logit / temperature)
    # recommend when the top list holds this much belief mass; None: max(0.1, 0.3 - 1.5 *
    # noise), the best of a grid on valid at noise 0 / 0.1 / 0.2 (0.3, 0.15, 0.1): noisy
    # answers carry less information, so a recommendation (truthful feedback) pays off sooner
    confidence: float | None = None
    statement_prior: float = 0.567  # weight of -log(#attributes) per stated attribute
    noise_prior: tuple[float, ...] | None = None  # over NOISE_GRID with noise="auto"
    explain: bool = True


NOISE_GRID = np.array([0.01, 0.05, 0.1, 0.15, 0.2, 0.3])
# a prior leaning to careful users: most people answer what they mean
NOISE_PRIOR = np.array([0.5, 0.2, 0.1, 0.1, 0.05, 0.05])  # chosen on valid (--tune-noise-prior)


def binary_entropy(q: np.ndarray) -> np.ndarray:
    q = np.clip(q, 1e-12, 1 - 1e-12)
    return -(q * np.log2(q) + (1 - q) * np.log2(1 - q))


class GraphPolicy(Policy):
    """Weighted-entropy asking and confidence-based recommending over a soft belief."""

    name = "graph"

    def __init__(self, context: PolicyContext, config: GraphPolicyConfig | None = None,
                 **params: Any) -> None:
        from dataclasses import replace

        self.ctx = context
        self.config = replace(config or GraphPolicyConfig(), **params)
        noise = self.config.noise
        self.estimate = noise == "auto"
        if not self.estimate and not (isinstance(noise, int | float)
                                      and 0.0 <= float(noise) < 0.5):
            raise ValueError(f"noise must be in [0, 0.5) or 'auto', got {noise!r}")
        self.noise = 0.0 if self.estimate else float(noise)  # the last estimate, or the given

    def _confidence(self, noise: float) -> float:
        conf = self.config.confidence
        return max(0.1, 0.3 - 1.5 * noise) if conf is None else conf

    @property
    def confidence(self) -> float:
        return self._confidence(self.noise)

    def belief(self, state: DialogueState) -> tuple[np.ndarray, np.ndarray]:
        """(items, probabilities) of the items still possible, items sorted by index."""
        ctx, cfg = self.ctx, self.config
        items = state.candidates
        if not len(items):  # nothing fits the hard facts: fall back to everything not shown
            items = np.setdiff1d(np.arange(ctx.n_items), state.rejected_items).astype(np.int32)
        logp = ctx.scorer.scores(state.user)[items].astype(np.float64)
        if cfg.statement_prior and state.stated:
            logp -= cfg.statement_prior * len(state.stated) * ctx.log_n_attrs[items]
        logp /= cfg.temperature
        disagree = np.zeros(len(items), dtype=np.int32)
        for attribute, yes in state.answered:
            disagree += ctx.has(items, attribute) != yes
        if self.estimate:
            return items, self._averaged(logp, disagree, len(state.answered))
        if self.noise > 0:
            logp += disagree * np.log(self.noise / (1 - self.noise))
        else:
            keep = disagree == 0
            if keep.any():  # a contradiction in the answers: keep everything rather than nothing
                items, logp = items[keep], logp[keep]
        p = np.exp(logp - logp.max())
        return items, p / p.sum()

    def _averaged(self, logp: np.ndarray, disagree: np.ndarray, n: int) -> np.ndarray:
        """The belief averaged over how noisy this user may be, each noise level weighted by
        how well it explains the answers so far (answers that contradict every likely item
        make high noise likelier); ``self.noise`` becomes the posterior mean."""
        eps = NOISE_GRID[:, None]
        loglik = logp[None, :] + disagree[None, :] * np.log(eps) \
            + (n - disagree[None, :]) * np.log(1 - eps)
        top = loglik.max(axis=1, keepdims=True)
        z = np.log(np.exp(loglik - top).sum(axis=1)) + top[:, 0]  # log P(answers | eps)
        prior = np.asarray(self.config.noise_prior or NOISE_PRIOR, dtype=np.float64)
        post = np.log(prior / prior.sum()) + z
        post = np.exp(post - post.max())
        post /= post.sum()
        self.noise = float(post @ NOISE_GRID)
        per_eps = np.exp(loglik - top)
        per_eps /= per_eps.sum(axis=1, keepdims=True)
        return post @ per_eps

    def act(self, state: DialogueState) -> Action:
        ctx = self.ctx
        items, p = self.belief(state)
        order = np.lexsort((items, -p))
        top = order[:state.list_size]
        if state.is_last_turn or len(items) <= state.list_size or p[top].sum() >= self.confidence:
            return self._recommend(state, items[top])
        mass = ctx.attribute_mass(items, p)
        if state.asked:
            mass[ctx.cols(state.asked)] = 0.0
        reachable = np.flatnonzero(mass > 0)
        q = mass[reachable] * (1 - self.noise) + (1 - mass[reachable]) * self.noise
        gain = binary_entropy(q)
        if not len(reachable) or gain.max() < 1e-6:  # no question splits the candidates
            return self._recommend(state, items[top])
        best = reachable[int(np.argmax(gain))]
        return Ask((ctx.mats.attributes[best],))

    def _recommend(self, state: DialogueState, items: np.ndarray) -> Recommend:
        ids = tuple(int(i) for i in items)
        if not self.config.explain:
            return Recommend(ids)
        return Recommend(ids, self.ctx.explainer.explain(state.user, ids, state.accepted))
