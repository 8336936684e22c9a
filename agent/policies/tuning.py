"""Tune the graph policy's few knobs on the valid split (never on test).

1. ``fit_belief``: the hybrid scorer's part weights and the statement prior, as one
   conditional logit: for a valid (user, target) pair, draw the opening attribute as the
   simulator does; the candidates are the items having it; maximise the log-probability of the
   target under ``softmax(w . parts - s * log #attributes)`` over those candidates.
2. ``tune_decision``: a small grid over temperature x confidence, played as conversations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent.policies.context import PolicyContext
from recsys.scorers import PARTS


@dataclass
class BeliefFit:
    """Fitted weights in logit units; apply with ``HybridConfig(**weights)``."""

    weights: dict[str, float]
    statement_prior: float
    mean_log_likelihood: float
    sets: int


def opening_sets(ctx: PolicyContext, pairs: np.ndarray, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features (N, P+1), group starts (G,), target row per group (G,) of sampled openings."""
    rng = np.random.default_rng(seed)
    mats, scorer = ctx.mats, ctx.scorer
    feats, starts, targets = [], [], []
    n = 0
    for u, t in pairs.tolist():
        cols = mats.attrs_of(t)
        cand = mats.items_with(int(cols[rng.integers(len(cols))]))
        cand = cand[~scorer.seen_mask(u, cand)]  # seen items are never targets
        if len(cand) < 2:
            continue
        x = np.column_stack([scorer.parts(u, cand), -ctx.log_n_attrs[cand]])
        feats.append(x)
        starts.append(n)
        targets.append(n + int(np.searchsorted(cand, t)))
        n += len(cand)
    return np.concatenate(feats), np.array(starts), np.array(targets)


def fit_belief(ctx: PolicyContext, pairs: np.ndarray, *, seed: int = 0, l2: float = 1e-4,
               parts: Sequence[str] = PARTS) -> BeliefFit:
    """Maximum-likelihood weights of the belief over opening candidate sets (L-BFGS);
    parts not in ``parts`` get weight 0 (for ablations)."""
    from scipy.optimize import minimize

    x, starts, targets = opening_sets(ctx, pairs, seed)
    x = x[:, [i for i, p in enumerate(PARTS) if p in parts] + [len(PARTS)]]
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mu) / sd  # standardised so one l2 weight suits every part
    group = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(z))))

    def nll(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = z @ w
        s = s - np.maximum.reduceat(s, starts)[group]
        e = np.exp(s)
        denom = np.add.reduceat(e, starts)
        p = e / denom[group]
        ll = s[targets].sum() - np.log(denom).sum()
        grad = z[targets].sum(axis=0) - np.add.reduceat(p[:, None] * z, starts).sum(axis=0)
        g = len(starts)
        return -ll / g + l2 * (w @ w), -grad / g + 2 * l2 * w

    res = minimize(nll, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B")
    w = res.x / sd  # back to raw units (the mean shift cancels inside each softmax)
    fitted = dict(zip([p for p in PARTS if p in parts], w[:-1].tolist(), strict=True))
    return BeliefFit({p: round(float(fitted.get(p, 0.0)), 3) for p in PARTS},
                     round(float(w[-1]), 3), round(float(-res.fun), 4), len(starts))


def tune_decision(ctx: PolicyContext, pairs: np.ndarray, *, noise: float = 0.0,
                  temperatures: Sequence[float] = (1.0, 1.5),
                  confidences: Sequence[float] = (0.2, 0.3, 0.4, 0.5),
                  workers: int = 2, seed: int = 0, **params: Any) -> list[dict[str, Any]]:
    """Play the grid on ``pairs``; rows sorted best first (lowest AT, then highest hDCG)."""
    from agent.evaluate import evaluate
    from agent.policies.graph import GraphPolicy
    from agent.simulators import create_simulator

    sim = create_simulator("rule", ctx.graph, noise=noise)
    rows = []
    for temp in temperatures:
        for conf in confidences:
            policy = GraphPolicy(ctx, noise=noise, temperature=temp, confidence=conf,
                                 explain=False, **params)
            s = evaluate(policy, sim, ctx.graph, pairs, seed=seed, workers=workers,
                         progress=False).summary()
            rows.append({"temperature": temp, "confidence": conf,
                         **{k: s[k] for k in ("SR@5", "SR@10", "SR@15", "AT", "hDCG")}})
    return sorted(rows, key=lambda r: (r["AT"], -r["hDCG"]))
