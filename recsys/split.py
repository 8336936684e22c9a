"""Train/test splits of interactions."""

from __future__ import annotations

import numpy as np

from recsys.catalog import Interactions


def temporal_split(interactions: Interactions,
                   test_fraction: float = 0.2) -> tuple[Interactions, Interactions]:
    """Per user, the last ``round(test_fraction * n)`` events (by timestamp, then item) are test.

    A user with n >= 2 events gets at least 1 test and at least 1 train event; a user with a
    single event keeps it in train. Halves round up. Events keep their original order.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    if interactions.timestamps is None:
        raise ValueError("temporal_split needs timestamps; these interactions have none")
    users = interactions.users
    order = np.lexsort((interactions.items, interactions.timestamps, users))
    counts = np.bincount(users, minlength=interactions.n_users)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    n_test = np.floor(test_fraction * counts + 0.5).astype(np.int64)
    n_test = np.where(counts >= 2, np.clip(n_test, 1, counts - 1), 0)
    sorted_users = users[order]
    position = np.arange(len(order)) - starts[sorted_users]  # rank of the event in its user
    is_test = np.zeros(len(order), dtype=bool)
    is_test[order] = position >= counts[sorted_users] - n_test[sorted_users]
    return interactions.subset(~is_test), interactions.subset(is_test)
