"""Hybrid preference scorer: attribute content (TF-IDF) + collaborative (recsys.models) + social.

On LastFM* most items have no training interaction (4,404 of 7,432), so a collaborative model
alone cannot rank them; the content part scores every item by the cosine between its TF-IDF
attribute vector and the centroid of the user's liked items. The score is a weighted sum of
raw parts in logit units (``score = sum_k w_k * part_k``), so ``softmax(score)`` over a set of
candidate items is a calibrated belief; the weights are fitted on the valid split by
``agent.policies.tuning.fit_belief`` (conditional logit over conversation candidate sets).

Measured on 3,000 valid pairs of LastFM* (hit@10 over all items, the user's own liked items
pushed down / target in the top 10 of the items sharing a random target attribute, i.e. the
opening candidates): content alone 5.5% / 38.8%; ALS alone 3.5% / 34.9%; social alone
1.2% / 24.9%; the tuned hybrid 6.2% / 42.7% (44.2% with the graph policy's statement prior).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

import numpy as np
import scipy.sparse as sp

from recsys.graph import FRIEND, CatalogGraph

PARTS = ("content", "collab", "social", "popularity", "cold")
# users x items up to this many cells: every user's scores are built once (a row lookup per
# turn, ~100x cheaper than recombining the parts); above it (100k users x 1M items would be
# 400 GB) a user's row is built when asked, and the last few are kept
DENSE_MAX_CELLS = 50_000_000
ROWS_KEPT = 32


@dataclass
class HybridConfig:
    """Weight of each part in logit units (0 turns a part off) and the collaborative model.

    Defaults: fitted on LastFM* valid (``benchmarks/cpr_lastfm_star.py --tune``).
    """

    content: float = 11.81  # TF-IDF cosine to the user's liked items, in [0, 1]
    collab: float = 1.967  # ALS user . item
    social: float = 0.153  # log(1 + friends who like the item)
    popularity: float = -0.349  # log(1 + users who like the item in training)
    cold: float = -0.707  # 1 for items nobody likes in training
    seen: float = -30.0  # the user's own liked items: known, so not what they are looking for
    model: str = "als"
    factors: int = 64
    iterations: int = 15
    # the collaborative part was tuned with these ALS settings; pinned so that changing the
    # ALS defaults (chosen for MovieLens top-N) does not silently change this scorer
    model_params: tuple[tuple[str, object], ...] = (("regularization", 0.05),
                                                    ("weighting", "bm25"))

    def weights(self) -> np.ndarray:
        return np.array([getattr(self, p) for p in PARTS], dtype=np.float32)

    def with_weights(self, weights: Mapping[str, float]) -> HybridConfig:
        """A copy with some part weights replaced (names from ``PARTS``)."""
        from copy import copy

        unknown = set(weights) - set(PARTS)
        if unknown:
            raise ValueError(f"unknown part(s) {sorted(unknown)}; parts: {', '.join(PARTS)}")
        out = copy(self)
        for name, w in weights.items():
            setattr(out, name, float(w))
        return out


def _row_normalise(m: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ m, dtype=np.float32)


class HybridScorer:
    """Scores every item for a user: ``scores(u)`` (float32, higher is better)."""

    def __init__(self, config: HybridConfig | None = None) -> None:
        self.config = config or HybridConfig()
        self._profiles: sp.csr_matrix | None = None  # (U, A) centroid of liked items
        self._xt: sp.csr_matrix | None = None  # (A, I) TF-IDF item vectors, by attribute
        self._uf = np.empty((0, 0), np.float32)  # (U, d) collaborative user factors
        self._if = np.empty((0, 0), np.float32)  # (I, d) item factors
        self._social: sp.csr_matrix | None = None  # (U, I) log(1 + friends liking)
        self._item = np.empty((0, 2), np.float32)  # (I, 2) popularity, cold
        self._seen: sp.csr_matrix | None = None
        self._scores: np.ndarray | None = None  # (U, I) weighted sum, when small enough
        self._rows: dict[int, np.ndarray] = {}  # user -> scores, newest last (large catalogs)
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        # sent to worker processes (a process pool, Ray): a lock does not travel
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def is_fitted(self) -> bool:
        return self._seen is not None

    def fit(self, graph: CatalogGraph, *, progress: bool | None = False) -> Self:
        """Fit every part on the graph's likes (its training split) and item attributes."""
        mats = graph.matrices
        ui = mats.user_item
        self._profiles, self._xt = self._fit_content(mats.item_attr, ui)
        self._uf, self._if = self._fit_collab(ui, progress)
        self._social = self._fit_social(graph, ui)
        pop = np.asarray(ui.sum(axis=0), dtype=np.float32).ravel()
        self._item = np.stack([np.log1p(pop), (pop == 0).astype(np.float32)], axis=1)
        self._seen = ui
        self._build()
        return self

    def _build(self) -> None:
        assert self._seen is not None
        self._rows = {}
        small = self._seen.shape[0] * self._seen.shape[1] <= DENSE_MAX_CELLS
        self._scores = self._all_scores() if small else None

    @staticmethod
    def _fit_content(item_attr: sp.csr_matrix, ui: sp.csr_matrix
                     ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        n_items = item_attr.shape[0]
        df = np.asarray((item_attr > 0).sum(axis=0), dtype=np.float32).ravel()
        idf = np.log((n_items + 1.0) / (df + 1.0)) + 1.0
        x = _row_normalise(sp.csr_matrix(item_attr @ sp.diags(idf.astype(np.float32))))
        profiles = _row_normalise(sp.csr_matrix(ui @ x))  # (U, A) centroid of liked items
        return profiles, sp.csr_matrix(x.T, dtype=np.float32)

    def _content(self, users: np.ndarray | slice) -> np.ndarray:
        """(len(users), I) cosine of each item to the users' liked-item centroids."""
        assert self._profiles is not None and self._xt is not None
        return np.asarray((self._profiles[users] @ self._xt).toarray(), dtype=np.float32)

    def _fit_collab(self, ui: sp.csr_matrix, progress: bool | None
                    ) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        if not cfg.collab:
            return np.zeros((ui.shape[0], 1), np.float32), np.zeros((ui.shape[1], 1), np.float32)
        from recsys.catalog import Interactions
        from recsys.models import create

        coo = ui.tocoo()
        inter = Interactions(coo.row, coo.col, ui.shape[0], ui.shape[1])
        extra = dict(cfg.model_params) if cfg.model == "als" else {}
        model = create(cfg.model, factors=cfg.factors, iterations=cfg.iterations, **extra)
        model.fit(inter, progress=progress)
        uf, itf = getattr(model, "user_factors", None), getattr(model, "item_factors", None)
        if uf is None or itf is None:
            raise ValueError(f"collaborative part needs a factor model (als, bpr), "
                             f"got '{cfg.model}'")
        return np.asarray(uf, np.float32), np.asarray(itf, np.float32)

    @staticmethod
    def _fit_social(graph: CatalogGraph, ui: sp.csr_matrix) -> sp.csr_matrix:
        rows, cols = [], []
        for a, b, rel in graph.graph.edges(data="rel"):
            if rel == FRIEND:
                rows += [a[1], b[1]]
                cols += [b[1], a[1]]
        n = ui.shape[0]
        friends = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, n))
        friends.data[:] = 1.0
        social = sp.csr_matrix(friends @ ui, dtype=np.float32)
        social.data = np.log1p(social.data)
        return social

    def parts(self, user: int, items: np.ndarray | None = None) -> np.ndarray:
        """(n, len(PARTS)) raw parts for ``user`` and ``items`` (all items when None)."""
        if self._seen is None:
            raise ValueError("HybridScorer is not fitted; call fit(graph) first")
        idx = slice(None) if items is None else np.asarray(items)
        social = self._social[user].toarray().ravel()[idx]  # type: ignore[index]
        collab = self._if[idx] @ self._uf[user]
        item = self._item[idx]
        content = self._content(np.array([user]))[0, idx]
        return np.column_stack([content, collab, social, item[:, 0], item[:, 1]])

    def _all_scores(self) -> np.ndarray:
        """(U, I) scores of every user: a conversation reads its user's row every turn, and
        one dense row lookup is ~100x cheaper than recombining the parts (measured)."""
        assert self._seen is not None
        return self._rows_of(np.arange(self._seen.shape[0]))

    def _rows_of(self, users: np.ndarray) -> np.ndarray:
        """(len(users), I) weighted scores of these users."""
        assert self._social is not None and self._seen is not None
        w = self.config.weights()
        out = w[0] * self._content(users)
        out += w[1] * (self._uf[users] @ self._if.T)
        out += w[2] * self._social[users].toarray()
        out += (self._item @ w[3:5])[None, :]
        seen = self._seen[users].tocoo()
        out[seen.row, seen.col] += self.config.seen
        return out.astype(np.float32, copy=False)

    def scores(self, user: int) -> np.ndarray:
        """Hybrid score of every item for ``user`` (a read-only row; copy to modify)."""
        if self._seen is None:
            raise ValueError("HybridScorer is not fitted; call fit(graph) first")
        if self._scores is not None:
            row = self._scores[user]
        else:  # a large catalog: built when asked, the last few kept (a chat asks each turn)
            with self._lock:  # turns of several chats run in threads
                row = self._rows.pop(user, None)
            if row is None:
                row = self._rows_of(np.array([user]))[0]
            with self._lock:
                self._rows[user] = row
                while len(self._rows) > ROWS_KEPT:
                    self._rows.pop(next(iter(self._rows)))
        row.flags.writeable = False
        return row

    def seen_mask(self, user: int, items: np.ndarray) -> np.ndarray:
        """Which of ``items`` the user already likes in training."""
        s = self._seen
        assert s is not None
        return np.isin(items, s.indices[s.indptr[user]:s.indptr[user + 1]])

    def with_config(self, config: HybridConfig) -> HybridScorer:
        """A scorer sharing the fitted parts with other weights (tuning without refitting)."""
        other = HybridScorer(config)
        other.__dict__.update({k: v for k, v in self.__dict__.items()
                               if k not in ("config", "_lock")})
        other._build()
        return other
