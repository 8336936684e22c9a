"""Top-N ranking metrics (binary relevance) and an evaluation loop over a model.

Metric functions take ``ranked`` ids (a (B, K) array, or a list of 1-d arrays; id -1 pads a
short list) and ``relevant`` (one collection of item ids per row, none empty) and return one
value per row; ``evaluate`` averages them over users.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recsys.catalog import Interactions

if TYPE_CHECKING:
    from recsys.models.base import Recommender

Ranking = np.ndarray | Sequence[np.ndarray] | Sequence[Sequence[int]]
Relevant = Sequence[Collection[int]] | Sequence[np.ndarray]


def _matrix(ranked: Ranking, k: int) -> np.ndarray:
    """(B, k) int64 ids, padded with -1."""
    if isinstance(ranked, np.ndarray) and ranked.ndim == 2:
        out = np.full((ranked.shape[0], k), -1, dtype=np.int64)
        w = min(k, ranked.shape[1])
        out[:, :w] = ranked[:, :w]
        return out
    out = np.full((len(ranked), k), -1, dtype=np.int64)
    for r, row in enumerate(ranked):
        row = np.asarray(row, dtype=np.int64)[:k]
        out[r, :len(row)] = row
    return out


def _hits(ranked: Ranking, relevant: Relevant, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(B, k) bool hit matrix and (B,) number of relevant items."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    ids = _matrix(ranked, k)
    if len(relevant) != len(ids):
        raise ValueError(f"ranked has {len(ids)} rows but relevant has {len(relevant)}")
    hits = np.zeros(ids.shape, dtype=bool)
    n_rel = np.zeros(len(ids), dtype=np.int64)
    for r, rel in enumerate(relevant):
        rel_a = np.unique(np.fromiter(rel, dtype=np.int64) if not isinstance(rel, np.ndarray)
                          else rel.astype(np.int64))
        if not len(rel_a):
            raise ValueError(f"relevant row {r} is empty; leave users without relevant "
                             "items out of the evaluation")
        hits[r] = np.isin(ids[r], rel_a) & (ids[r] >= 0)
        n_rel[r] = len(rel_a)
    return hits, n_rel


def recall_at_k(ranked: Ranking, relevant: Relevant, k: int) -> np.ndarray:
    """Relevant items in the top k / number of relevant items, per row."""
    hits, n_rel = _hits(ranked, relevant, k)
    return np.asarray(hits.sum(axis=1) / n_rel, dtype=np.float64)


def hit_at_k(ranked: Ranking, relevant: Relevant, k: int) -> np.ndarray:
    """1.0 where the top k holds at least one relevant item, per row."""
    hits, _ = _hits(ranked, relevant, k)
    return np.asarray(hits.any(axis=1), dtype=np.float64)


def ndcg_at_k(ranked: Ranking, relevant: Relevant, k: int) -> np.ndarray:
    """DCG@k / ideal DCG@k with binary gains; the ideal puts min(|relevant|, k) hits first."""
    hits, n_rel = _hits(ranked, relevant, k)
    discount = 1.0 / np.log2(np.arange(2, k + 2))  # (k,)
    dcg = hits @ discount
    idcg = np.cumsum(discount)[np.minimum(n_rel, k) - 1]
    return dcg / idcg


def coverage(ranked: Ranking, n_items: int, k: int | None = None) -> float:
    """Share of the ``n_items`` catalog that appears in at least one top-k list."""
    if k is None:
        k = (ranked.shape[1] if isinstance(ranked, np.ndarray) and ranked.ndim == 2
             else max((len(r) for r in ranked), default=0))
    if k <= 0 or n_items <= 0:
        return 0.0
    ids = _matrix(ranked, k)
    return float(len(np.unique(ids[ids >= 0])) / n_items)


def evaluate(model: Recommender, train: Interactions, test: Interactions,
             ks: Sequence[int] = (10, 20), exclude: sp.csr_matrix | None = None, *,
             batch_size: int = 256, progress: bool | None = None) -> dict[str, float]:
    """Mean Recall@k, NDCG@k, Hit@k and coverage@k of ``model`` on ``test``.

    Users with a test item and a training item are evaluated (others are counted as skipped);
    every test item is relevant. Items in ``exclude`` (a user x item csr; default: the user's
    items in ``train``) and the model's own seen items are never recommended.
    """
    from tqdm.auto import tqdm

    from recsys.models.base import show_progress

    ks = sorted(set(ks))
    max_k = ks[-1]
    test_m = test.to_csr(binary=True)
    train_m = train.to_csr(binary=True)
    excl = train_m if exclude is None else sp.csr_matrix(exclude)
    has_test = np.diff(test_m.indptr) > 0
    users = np.flatnonzero(has_test & (np.diff(train_m.indptr) > 0))
    rows: list[np.ndarray] = []
    for b0 in tqdm(range(0, len(users), batch_size), desc=f"eval {model.name}",
                   disable=not show_progress(progress)):
        batch = users[b0:b0 + batch_size]
        extra = int(np.diff(excl[batch].indptr).max(initial=0))
        ids, _ = model.recommend_batch(batch, max_k + extra, filter_seen=True)
        for u, row in zip(batch, ids, strict=True):
            drop = excl.indices[excl.indptr[u]:excl.indptr[u + 1]]
            rows.append(row[(row >= 0) & ~np.isin(row, drop)][:max_k])
    ranked = _matrix(rows, max_k)
    relevant = [test_m.indices[test_m.indptr[u]:test_m.indptr[u + 1]] for u in users]
    out: dict[str, float] = {}
    for k in ks:
        if len(users):
            out[f"Recall@{k}"] = float(recall_at_k(ranked, relevant, k).mean())
            out[f"NDCG@{k}"] = float(ndcg_at_k(ranked, relevant, k).mean())
            out[f"Hit@{k}"] = float(hit_at_k(ranked, relevant, k).mean())
        out[f"coverage@{k}"] = coverage(ranked, model.n_items, k)
    out["users"] = float(len(users))
    out["users_skipped"] = float(has_test.sum() - len(users))
    return out
