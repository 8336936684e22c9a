"""Metrics against values computed by hand, and the evaluation loop on a known model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.catalog import Interactions
from recsys.metrics import coverage, evaluate, hit_at_k, ndcg_at_k, recall_at_k
from recsys.models import create


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


def test_evaluate_most_popular_by_hand() -> None:
    # 4 items; popularity in train: item 0 (3 users) > item 1 (2) > item 2 (1) > item 3 (0)
    train = Interactions(np.array([0, 1, 2, 0, 1, 2]), np.array([0, 0, 0, 1, 1, 2]), 4, 4)
    # user 0 saw 0, 1 -> ranks [2, 3]; user 1 saw 0, 1 -> [2, 3]; user 2 saw 0, 2 -> [1, 3]
    # user 3 has no training events and is skipped
    test = Interactions(np.array([0, 1, 2, 3]), np.array([3, 2, 3, 1]), 4, 4)
    model = create("popularity").fit(train, progress=False)
    m = evaluate(model, train, test, ks=(1, 2), progress=False)
    assert m["users"] == 3 and m["users_skipped"] == 1
    assert m["Hit@1"] == pytest.approx(1 / 3)  # only user 1's relevant item 2 is first
    assert m["Recall@2"] == pytest.approx(1.0)
    ndcg2 = (1 / math.log2(3) + 1 + 1 / math.log2(3)) / 3
    assert m["NDCG@2"] == pytest.approx(ndcg2)
    assert m["coverage@1"] == pytest.approx(2 / 4) and m["coverage@2"] == pytest.approx(3 / 4)


def test_evaluate_honours_exclude() -> None:
    train = Interactions(np.array([0, 1]), np.array([0, 0]), 2, 3)
    test = Interactions(np.array([0]), np.array([1]), 2, 3)
    model = create("popularity").fit(train, progress=False)
    # ties rank item 1 before item 2; excluding item 1 leaves nothing relevant in the top 1
    exclude = sp.csr_matrix(([1.0], ([0], [1])), shape=(2, 3))
    assert evaluate(model, train, test, ks=(1,), progress=False)["Hit@1"] == 1.0
    assert evaluate(model, train, test, ks=(1,), exclude=exclude, progress=False)["Hit@1"] == 0.0
