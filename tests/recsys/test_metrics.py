"""Metrics against values computed by hand, and the temporal split's bookkeeping."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recsys.catalog import Interactions
from recsys.metrics import coverage, hit_at_k, ndcg_at_k, recall_at_k
from recsys.split import temporal_split


def test_metrics_by_hand() -> None:
    ranked = np.array([[5, 1, 7], [2, 3, 4]])
    relevant = [{1, 9}, {8}]
    np.testing.assert_allclose(recall_at_k(ranked, relevant, 3), [0.5, 0.0])
    np.testing.assert_allclose(hit_at_k(ranked, relevant, 3), [1.0, 0.0])
    # row 0: one hit at rank 2 -> DCG 1/log2(3); ideal: two hits at ranks 1, 2
    ideal = 1 + 1 / math.log2(3)
    np.testing.assert_allclose(ndcg_at_k(ranked, relevant, 3), [(1 / math.log2(3)) / ideal, 0.0])
    # at k=1 the hit at rank 2 does not count
    np.testing.assert_allclose(ndcg_at_k(ranked, relevant, 1), [0.0, 0.0])
    assert coverage(ranked, n_items=12) == pytest.approx(6 / 12)


def test_padding_and_empty_relevant() -> None:
    ranked = [np.array([3]), np.array([4, 5])]
    np.testing.assert_allclose(recall_at_k(ranked, [{3}, {5}], 2), [1.0, 1.0])
    np.testing.assert_allclose(ndcg_at_k(ranked, [{3}, {5}], 2), [1.0, 1 / math.log2(3)])
    with pytest.raises(ValueError, match="relevant row 0 is empty"):
        recall_at_k(ranked, [set(), {5}], 2)


def test_temporal_split_keeps_each_users_last_fifth() -> None:
    # user 0: 10 events at t=0..9 -> last 2 test; user 1: 1 event -> train; user 2: 3 -> 1 test
    users = np.array([0] * 10 + [1] + [2] * 3)
    items = np.array(list(range(10)) + [0] + [4, 5, 6])
    stamps = np.array(list(range(10, 0, -1)) + [5] + [1, 3, 2])
    inter = Interactions(users, items, 3, 10, timestamps=stamps)
    train, test = temporal_split(inter, 0.2)
    assert len(train) + len(test) == len(inter)
    by_user = {u: sorted(test.items[test.users == u].tolist()) for u in range(3)}
    # user 0's latest events are items 0 and 1 (timestamps 10 and 9)
    assert by_user == {0: [0, 1], 1: [], 2: [5]}
    with pytest.raises(ValueError, match="needs timestamps"):
        temporal_split(Interactions(users, items, 3, 10))
