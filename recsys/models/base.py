"""The one recommender contract; argument checks, exclusions and top-k live here, once.

A model only says how to fit a user x item matrix and how to score items for users
(``_fit``, ``_scores``); every public method validates its arguments, removes seen and
excluded items and ranks the rest the same way for every model.
"""

from __future__ import annotations

import inspect
import operator
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from recsys.catalog import Interactions
from recsys.errors import ModelError, UnknownItemError, UnknownUserError
from recsys.ranked import Ranked


def show_progress(progress: bool | None) -> bool:
    """``None`` means auto: a bar on a terminal, quiet otherwise (CI, pipes)."""
    return sys.stderr.isatty() if progress is None else bool(progress)


def top_k(ids: np.ndarray, scores: np.ndarray, n: int) -> Ranked:
    """The ``n`` best of ``ids`` by score desc, ties broken by lower item index."""
    if len(ids) > n:
        # keep everything tied with the n-th best so the tie-break below sees all of them
        kth = np.partition(scores, len(scores) - n)[len(scores) - n]
        keep = scores >= kth
        ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores))[:n]
    return Ranked(ids[order].astype(np.int32), scores[order].astype(np.float32))


def top_k_rows(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top ``n`` of a (B, I) score matrix; ``-inf`` entries come back as id -1."""
    b, n_items = scores.shape
    k = min(n, n_items)
    if k < n_items:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        kth = np.take_along_axis(scores, part, axis=1).min(axis=1)
        # rows where more items tie with the k-th best than fit: argpartition chose among
        # them arbitrarily, so redo those rows with the exact (score desc, index asc) order
        ambiguous = np.flatnonzero((scores >= kth[:, None]).sum(axis=1) > k)
        cols = np.arange(n_items)
        for r in ambiguous:
            part[r] = np.lexsort((cols, -scores[r]))[:k]
    else:
        part = np.broadcast_to(np.arange(n_items), (b, n_items)).copy()
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=-1)
    ids = np.take_along_axis(part, order, axis=1).astype(np.int32)
    out = np.take_along_axis(part_scores, order, axis=1).astype(np.float32)
    ids[np.isneginf(out)] = -1
    return ids, out


def check_n(n: int) -> int:
    n = operator.index(n)
    if n <= 0:
        raise ValueError(f"n must be a positive number of items, got {n}")
    return n


class Recommender(ABC):
    """Fit on a user x item matrix; recommend, score and find similar items by dense index."""

    name: ClassVar[str]
    personalised: ClassVar[bool] = True  # needs a user's training history to score them

    def __init__(self) -> None:
        self._seen: sp.csr_matrix | None = None  # training user x item matrix (summed weights)
        self._item_counts = np.empty(0, dtype=np.int64)  # users per item in training
        self.trained_at: str | None = None

    # ---- what a model provides -------------------------------------------------------------

    @abstractmethod
    def _fit(self, user_items: sp.csr_matrix, progress: bool) -> None:
        """Learn from the training matrix (also kept in ``self._seen``)."""

    @abstractmethod
    def _scores(self, users: np.ndarray) -> np.ndarray:
        """Raw scores (B, n_items) float32 for validated dense user indices."""

    def _scores_of(self, user: int, items: np.ndarray) -> np.ndarray:
        """Raw scores of some items for one validated user; models may do this cheaper."""
        return self._scores(np.array([user]))[0, items]

    @abstractmethod
    def _similar(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of items similar to a validated item, the item itself may be included."""

    @abstractmethod
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The learned state, as plain arrays (for ``persist``); the seen matrix is added there."""

    @abstractmethod
    def from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the learned state written by ``to_arrays``."""

    # ---- shared logic ----------------------------------------------------------------------

    @property
    def params(self) -> dict[str, Any]:
        """Constructor arguments, JSON-able (what ``create(name, **params)`` needs)."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {p: getattr(self, p) for p in names}

    @property
    def is_fitted(self) -> bool:
        return self._seen is not None

    @property
    def seen(self) -> sp.csr_matrix:
        """The training user x item matrix (what ``filter_seen`` removes)."""
        return self._fitted()

    @property
    def n_users(self) -> int:
        return self._fitted().shape[0]

    @property
    def n_items(self) -> int:
        return self._fitted().shape[1]

    def fit(self, interactions: Interactions, *, progress: bool | None = None) -> Self:
        """Train on ``interactions.to_csr()`` (summed weights per user and item)."""
        self.set_seen(interactions.to_csr())
        self._fit(self.seen, show_progress(progress))
        self.trained_at = datetime.now(UTC).isoformat(timespec="seconds")
        return self

    def set_seen(self, user_items: sp.csr_matrix) -> None:
        """Install the training matrix (``fit`` and ``persist.load_model`` use this)."""
        m = sp.csr_matrix(user_items, dtype=np.float32)
        m.sort_indices()
        self._seen = m
        self._item_counts = np.bincount(m.indices, minlength=m.shape[1])

    def recommend(self, user: int, n: int = 10, *, candidates: Sequence[int] | None = None,
                  exclude: Sequence[int] = (), filter_seen: bool = True) -> Ranked:
        """The ``n`` best items for ``user``, among ``candidates`` when given.

        Args:
            user: dense user index.
            n: how many items at most (fewer when fewer qualify).
            candidates: rank only these items (duplicates ignored).
            exclude: never return these items.
            filter_seen: leave out the user's training items.
        """
        self._fitted()
        n = check_n(n)
        user = self._check_user(user)
        excluded = self._check_items(exclude, "exclude")
        if filter_seen:
            s = self.seen
            excluded = np.union1d(excluded, s.indices[s.indptr[user]:s.indptr[user + 1]])
        if candidates is not None:
            cand = np.unique(self._check_items(candidates, "candidates"))
            cand = cand[~np.isin(cand, excluded)]
            if not len(cand):
                return Ranked.empty()
            return top_k(cand, self._scores_of(user, cand).astype(np.float32), n)
        return self._recommend_all(user, n, excluded)

    def _recommend_all(self, user: int, n: int, excluded: np.ndarray) -> Ranked:
        """Rank every item but the excluded ones (MF models may ask an index instead)."""
        keep = np.ones(self.n_items, dtype=bool)
        keep[excluded] = False
        scores = self._scores(np.array([user]))[0]
        return top_k(np.flatnonzero(keep), scores[keep], n)

    def recommend_batch(self, users: Sequence[int] | np.ndarray, n: int = 10, *,
                        filter_seen: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` for many users at once: ids (B, k) int32 and scores (B, k) float32.

        ``k = min(n, n_items)``; a row with fewer qualifying items is padded with id -1 and
        score ``-inf``. Rows agree with ``recommend(user, n, filter_seen=...)``.
        """
        self._fitted()
        n = check_n(n)
        u = np.array([self._check_user(x) for x in users], dtype=np.int64)
        scores = np.asarray(self._scores(u), dtype=np.float32).copy()
        if filter_seen and len(u):
            rows = self.seen[u]
            scores[np.repeat(np.arange(len(u)), np.diff(rows.indptr)), rows.indices] = -np.inf
        return top_k_rows(scores, n)

    def similar_items(self, item: int, n: int = 10) -> Ranked:
        """Items most like ``item`` (never the item itself), best first."""
        self._fitted()
        n = check_n(n)
        item = self._check_item(item)
        ids, scores = self._similar(item)
        keep = ids != item
        return top_k(np.asarray(ids[keep]), np.asarray(scores[keep], dtype=np.float32), n)

    def score(self, user: int, items: np.ndarray | None = None) -> np.ndarray:
        """Raw scores of all items (or of ``items``) for ``user``; seen items included."""
        self._fitted()
        user = self._check_user(user)
        if items is None:
            return np.asarray(self._scores(np.array([user]))[0], dtype=np.float32)
        return np.asarray(self._scores_of(user, self._check_items(items, "items")),
                          dtype=np.float32)

    # ---- argument checks -------------------------------------------------------------------

    def _fitted(self) -> sp.csr_matrix:
        if self._seen is None:
            raise ModelError(f"model '{self.name}' is not fitted; call fit() or `tastebud train`")
        return self._seen

    def _check_user(self, user: int) -> int:
        user = operator.index(user)
        n_users = self.n_users
        if not 0 <= user < n_users:
            raise UnknownUserError(
                f"user index {user} is out of range for model '{self.name}' "
                f"(trained on {n_users} users, 0..{n_users - 1}); pass a dense user index "
                "of the catalog it was trained on, or retrain after adding users")
        if self.personalised and self.seen.indptr[user] == self.seen.indptr[user + 1]:
            raise UnknownUserError(
                f"user {user} has no training interactions, so model '{self.name}' has "
                "nothing to personalise from; use the 'popularity' model for this user, "
                "or retrain once they have rated something")
        return user

    def _check_item(self, item: int) -> int:
        item = operator.index(item)
        n_items = self.n_items
        if not 0 <= item < n_items:
            raise UnknownItemError(
                f"item index {item} is out of range for model '{self.name}' "
                f"({n_items} items, 0..{n_items - 1})")
        if self.personalised and self._item_counts[item] == 0:
            raise UnknownItemError(
                f"item {item} has no training interactions, so model '{self.name}' cannot "
                "tell what it is similar to; search by attributes or text instead")
        return item

    def _check_items(self, items: Sequence[int] | np.ndarray, arg: str) -> np.ndarray:
        a = np.asarray(items)
        if a.size == 0:
            return np.empty(0, dtype=np.int64)
        if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"{arg} must be a 1-d sequence of integer item indices")
        bad = a[(a < 0) | (a >= self.n_items)]
        if len(bad):
            raise ValueError(
                f"{arg} contains item index {int(bad[0])}, outside 0..{self.n_items - 1}")
        return a.astype(np.int64)
