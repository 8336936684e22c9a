"""Most-popular: the same ranking for everyone, the baseline every model must beat."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.models.base import Recommender


class PopularityRecommender(Recommender):
    """Items ranked by their summed training weight; serves users with no history too."""

    name = "popularity"
    personalised = False

    def __init__(self) -> None:
        super().__init__()
        self.popularity = np.empty(0, dtype=np.float32)  # (I,)

    def _fit(self, user_items: sp.csr_matrix, progress: bool) -> None:
        self.popularity = np.asarray(user_items.sum(axis=0), dtype=np.float32).ravel()

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity, (len(users), len(self.popularity)))

    def _scores_of(self, user: int, items: np.ndarray) -> np.ndarray:
        return self.popularity[items]

    def _similar(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        # no notion of similarity: "people also watched" falls back to the most popular
        return np.arange(len(self.popularity)), self.popularity

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"popularity": self.popularity}

    def from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.popularity = np.asarray(arrays["popularity"], dtype=np.float32)
