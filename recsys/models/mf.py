"""Matrix factorisation with implicit (ALS, BPR): score(u, i) = user_factors[u] . item_factors[i].

BPR's item factors carry a bias column and its user factors a matching ones column, so the
plain dot product is right for both models.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from recsys.models.base import Recommender, top_k
from recsys.ranked import Ranked


class ItemIndex(Protocol):
    """What ``attach_index`` needs; a faiss index satisfies it."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores (B, k), ids (B, k)) by inner product; id -1 where fewer than k."""
        ...


class MFRecommender(Recommender):
    """Shared scoring, similar items and the optional nearest-neighbour index of MF models."""

    def __init__(self) -> None:
        super().__init__()
        self.user_factors = np.empty((0, 0), dtype=np.float32)  # (U, d)
        self.item_factors = np.empty((0, 0), dtype=np.float32)  # (I, d)
        self._index: ItemIndex | None = None

    def _implicit_model(self) -> tuple[type, dict[str, Any]]:
        """The implicit estimator class (imported) and its constructor arguments."""
        raise NotImplementedError

    def _train_matrix(self, user_items: sp.csr_matrix) -> sp.csr_matrix:
        """What implicit trains on (e.g. a reweighted copy of the seen matrix)."""
        return user_items

    def _fit(self, user_items: sp.csr_matrix, progress: bool) -> None:
        from threadpoolctl import threadpool_limits

        # implicit runs its own threads (num_threads=0: all cores); BLAS threads on top of
        # them oversubscribe the cores, and implicit warns about it at construction
        # import before limiting: implicit loads scipy's BLAS, which the limit must see
        cls, kwargs = self._implicit_model()
        from tqdm.auto import tqdm

        with threadpool_limits(1, "blas"):
            model = cls(**kwargs)
            # implicit's own bar has no label; ours says which model trains
            its = int(getattr(model, "iterations", 0) or 0)
            with tqdm(total=its or None, desc=f"training {self.name}", unit="iter",
                      disable=not progress) as bar:
                model.fit(self._train_matrix(user_items), show_progress=False,
                          callback=lambda *a: bar.update(1))
        self.user_factors = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self._index = None  # an attached index holds the old factors
        self.__dict__.pop("_gram", None)

    def attach_index(self, index: ItemIndex | None) -> None:
        """Answer ``recommend`` without candidates from ``index`` (over ``item_factors``).

        ``index.search(queries (B, d) float32, k)`` returns (scores, ids) like faiss; pass
        ``None`` to score every item again. Refitting detaches the index.
        """
        self._fitted()
        d = getattr(index, "d", None)
        if d is not None and d != self.item_factors.shape[1]:
            raise ValueError(f"index has dimension {d} but the item factors have "
                             f"{self.item_factors.shape[1]}; build it over item_factors")
        self._index = index

    def _recommend_all(self, user: int, n: int, excluded: np.ndarray) -> Ranked:
        if self._index is None:
            return super()._recommend_all(user, n, excluded)
        k = min(n + len(excluded), self.n_items)
        query = self.user_factors[user:user + 1]
        _, found = self._index.search(query, k)
        ids = np.asarray(found[0], dtype=np.int64)
        ids = ids[(ids >= 0) & ~np.isin(ids, excluded)]
        # rescore exactly so ties and rounding order as without the index
        return top_k(ids, self._scores_of(user, ids), n)

    def rank_for_vector(self, vector: np.ndarray, n: int, *, candidates: np.ndarray | None,
                        exclude: np.ndarray) -> Ranked:
        """Top ``n`` items for a folded-in ``vector`` (among ``candidates`` when given)."""
        ids = np.arange(self.n_items) if candidates is None else np.unique(candidates)
        ids = ids[~np.isin(ids, exclude)]
        if not len(ids):
            return Ranked.empty()
        return top_k(ids, (self.item_factors[ids] @ vector).astype(np.float32), n)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors[users] @ self.item_factors.T

    def _scores_of(self, user: int, items: np.ndarray) -> np.ndarray:
        return self.item_factors[items] @ self.user_factors[user]

    def _similar(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        f = self.item_factors
        norms = np.linalg.norm(f, axis=1)
        norms[norms == 0] = 1.0
        return np.arange(len(f)), (f @ f[item]) / (norms * norms[item])

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors = np.ascontiguousarray(arrays["user_factors"], dtype=np.float32)
        self.item_factors = np.ascontiguousarray(arrays["item_factors"], dtype=np.float32)
        self._index = None
        self.__dict__.pop("_gram", None)


class ALSRecommender(MFRecommender):
    """Implicit-feedback ALS (Hu, Koren, Volinsky 2008) with optional BM25 weighting.

    Args:
        factors: latent dimension.
        regularization: L2 weight.
        alpha: confidence scale, c = 1 + alpha * weight.
        iterations: ALS sweeps.
        weighting: "none" or "bm25" (reweights the training matrix, damping heavy users and
            popular items: more coverage; on MovieLens positives "none" ranks better).
        bm25_k1, bm25_b: BM25 parameters.
        random_state: seed of the initial factors.
    """

    name = "als"

    def __init__(self, factors: int = 32, regularization: float = 5.0, alpha: float = 1.0,
                 iterations: int = 15, weighting: str = "none", bm25_k1: float = 100.0,
                 bm25_b: float = 0.8, random_state: int | None = 0) -> None:
        super().__init__()
        if weighting not in ("none", "bm25"):
            raise ValueError(f"weighting must be 'none' or 'bm25', got '{weighting}'")
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.weighting = iterations, weighting
        self.bm25_k1, self.bm25_b, self.random_state = bm25_k1, bm25_b, random_state

    def _implicit_model(self) -> tuple[type, dict[str, Any]]:
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares, dict(
            factors=self.factors, regularization=self.regularization, alpha=self.alpha,
            iterations=self.iterations, num_threads=0, random_state=self.random_state)

    def _train_matrix(self, user_items: sp.csr_matrix) -> sp.csr_matrix:
        if self.weighting == "none":
            return user_items
        from implicit.nearest_neighbours import bm25_weight

        # implicit's bm25_weight treats rows as documents: weight items x users, as its examples do
        return bm25_weight(user_items.T, K1=self.bm25_k1, B=self.bm25_b).T.tocsr().astype(
            np.float32)

    def fold_in(self, liked: np.ndarray | list[int], regularization: float = 1.0
                ) -> np.ndarray:
        """A user vector for someone the model never saw, from items they just liked.

        The implicit-ALS user solve with confidence 2 on the liked items and 1 elsewhere:
        ``(YᵀY + Y_lᵀY_l + λI) u = 2 Y_lᵀ 1``; one d×d solve, so it runs per chat turn.
        """
        self._fitted()
        y = self.item_factors
        liked = self._check_items(liked, "liked")
        if not len(liked):
            return np.zeros(y.shape[1], dtype=np.float32)
        gram = self.__dict__.get("_gram")
        if gram is None:  # YᵀY over all items: cached, the factors are fixed after fit
            gram = self.__dict__["_gram"] = (y.T.astype(np.float64) @ y)
        yl = y[liked].astype(np.float64)
        a = gram + yl.T @ yl + regularization * np.eye(y.shape[1])
        return np.linalg.solve(a, 2.0 * yl.sum(axis=0)).astype(np.float32)


class BPRRecommender(MFRecommender):
    """Bayesian Personalized Ranking (Rendle et al. 2009) by SGD over sampled item pairs.

    Args:
        factors: latent dimension (implicit adds one bias column).
        learning_rate, regularization: SGD step and L2 weight.
        iterations: epochs.
        random_state: seed (with 2 threads the SGD order still varies between runs).
    """

    name = "bpr"

    def __init__(self, factors: int = 64, learning_rate: float = 0.01,
                 regularization: float = 0.01, iterations: int = 100,
                 random_state: int | None = 0) -> None:
        super().__init__()
        self.factors, self.learning_rate = factors, learning_rate
        self.regularization, self.iterations, self.random_state = (
            regularization, iterations, random_state)

    def _implicit_model(self) -> tuple[type, dict[str, Any]]:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking, dict(
            factors=self.factors, learning_rate=self.learning_rate,
            regularization=self.regularization, iterations=self.iterations,
            num_threads=0, random_state=self.random_state)

    def _train_matrix(self, user_items: sp.csr_matrix) -> sp.csr_matrix:
        # BPR reads the matrix as liked / not liked; weights only matter for ALS
        m = user_items.copy()
        m.data[:] = 1.0
        return m
