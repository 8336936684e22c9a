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
    is_test = latest_mask(interactions, test_fraction)
    return interactions.subset(~is_test), interactions.subset(is_test)


def latest_mask(interactions: Interactions, test_fraction: float) -> np.ndarray:
    """True for each user's latest ``test_fraction`` of events (see ``temporal_split``)."""
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
    return is_test


def split_labels(interactions: Interactions, by: str, test: float, valid: float = 0.0,
                 seed: int = 0) -> np.ndarray:
    """'train' / 'valid' / 'test' per event, for catalogs whose files carry no split.

    ``by = "time"``: per user, the latest ``test`` share is test and the ``valid`` share
    before it is valid (as ``temporal_split``); ``by = "ratio"``: a seeded random share of all
    events.
    """
    n = len(interactions)
    labels = np.full(n, "train", dtype="<U5")
    if by == "ratio":
        u = np.random.default_rng(seed).random(n)
        labels[u < test] = "test"
        labels[(u >= test) & (u < test + valid)] = "valid"
        return labels
    if interactions.timestamps is None:
        raise ValueError("a split by time needs timestamps; these interactions have none "
                         "(use by = \"ratio\")")
    is_test = latest_mask(interactions, test)
    labels[is_test] = "test"
    if valid > 0:
        idx = np.flatnonzero(~is_test)
        is_valid = latest_mask(interactions.subset(idx), min(valid / (1 - test), 0.99))
        labels[idx[is_valid]] = "valid"
    return labels
