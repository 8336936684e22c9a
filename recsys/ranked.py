"""The result type every recommender, index and search returns."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Ranked(NamedTuple):
    """Dense item indices, best first, with their scores (same length)."""

    ids: np.ndarray  # (n,) int32
    scores: np.ndarray  # (n,) float32

    def __len__(self) -> int:  # type: ignore[override]
        return len(self.ids)

    @classmethod
    def empty(cls) -> Ranked:
        return cls(np.empty(0, np.int32), np.empty(0, np.float32))
