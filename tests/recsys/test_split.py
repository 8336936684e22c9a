"""The per-user temporal split: who goes to test, ties, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.catalog import Interactions
from recsys.split import temporal_split


def test_temporal_split_keeps_each_users_last_fifth() -> None:
    # user 0: 10 events at t=10..1 -> last 2 test; user 1: 1 event -> train; user 2: 3 -> 1 test
    users = np.array([0] * 10 + [1] + [2] * 3)
    items = np.array(list(range(10)) + [0] + [4, 5, 6])
    stamps = np.array(list(range(10, 0, -1)) + [5] + [1, 3, 2])
    inter = Interactions(users, items, 3, 10, timestamps=stamps)
    train, test = temporal_split(inter, 0.2)
    assert len(train) + len(test) == len(inter)
    by_user = {u: sorted(test.items[test.users == u].tolist()) for u in range(3)}
    # user 0's latest events are items 0 and 1 (timestamps 10 and 9)
    assert by_user == {0: [0, 1], 1: [], 2: [5]}


def test_ties_go_by_item_and_every_user_keeps_a_train_event() -> None:
    # user 0: two events at the same time -> the higher item is "later"; user 1: 2 events
    inter = Interactions(np.array([0, 0, 1, 1]), np.array([7, 3, 2, 1]), 2, 8,
                         ratings=np.array([1, 2, 3, 4], dtype=np.float32),
                         timestamps=np.array([5, 5, 1, 2]))
    train, test = temporal_split(inter, 0.2)
    assert sorted(zip(test.users.tolist(), test.items.tolist(), strict=True)) == [(0, 7), (1, 1)]
    np.testing.assert_array_equal(test.ratings, [1, 4])  # aligned columns travel along
    # a large fraction still leaves one training event per user with >= 2 events
    train, test = temporal_split(inter, 0.9)
    assert sorted(train.users.tolist()) == [0, 1]


def test_bad_input() -> None:
    inter = Interactions(np.array([0]), np.array([0]), 1, 1)
    with pytest.raises(ValueError, match="needs timestamps"):
        temporal_split(inter)
    with pytest.raises(ValueError, match="test_fraction"):
        temporal_split(inter, 1.5)
