"""Kept answers: computed once while kept, oldest out first, a pickled copy starts empty."""

from __future__ import annotations

import pickle

import pytest

from recsys.kept import Kept


def test_an_answer_is_computed_once_while_kept_and_the_oldest_goes_first() -> None:
    calls: list[int] = []
    kept: Kept[int] = Kept(2)

    def make(k: int) -> int:
        calls.append(k)
        return k * 10

    assert [kept.get(k, lambda k=k: make(k)) for k in (1, 1, 2, 1)] == [10, 10, 20, 10]
    assert calls == [1, 2]
    kept.get(3, lambda: make(3))  # 1 was kept first: it leaves
    assert len(kept) == 2
    kept.get(1, lambda: make(1))
    assert calls == [1, 2, 3, 1]


def test_a_failing_lookup_keeps_nothing_and_a_copy_travels_empty() -> None:
    kept: Kept[int] = Kept(4)
    with pytest.raises(KeyError):
        kept.get("x", lambda: {}["missing"])
    assert len(kept) == 0
    kept.get("a", lambda: 1)
    copy = pickle.loads(pickle.dumps(kept))
    assert len(copy) == 0 and copy.size == 4 and copy.get("a", lambda: 2) == 2
    with pytest.raises(ValueError, match="at least one"):
        Kept(0)
