"""Ranking from a conversation: signed seeds, dialogue knowledge, the prior, factor fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.errors import ModelError
from recsys.session import DialogueKnowledge, SessionRanker, SessionWeights, conversation_seeds


def _sim() -> sp.csr_matrix:
    # 6 items: 0~1, 2~3 similar; 4, 5 unrelated
    rows, cols, vals = [0, 1, 2, 3, 0], [1, 0, 3, 2, 4], [0.9, 0.9, 0.8, 0.8, 0.1]
    return sp.csr_matrix((vals, (rows, cols)), shape=(6, 6), dtype=np.float32)


POP = np.array([1, 1, 1, 1, 50, 1], np.float32)


def test_without_seeds_the_prior_is_popularity() -> None:
    r = SessionRanker(_sim(), POP)
    assert int(np.argmax(r.scores({}))) == 4


def test_a_positive_seed_draws_its_neighbours_and_a_negative_one_pushes_them_away() -> None:
    r = SessionRanker(_sim(), POP, weights=SessionWeights(knn=10.0))
    up, down = r.scores({0: 1.0}), r.scores({0: -1.0})
    assert up[1] > up[4] and down[1] < r.scores({})[1]


def test_the_request_ranks_its_own_nearest_first() -> None:
    r = SessionRanker(_sim(), POP, weights=SessionWeights(request=3.0))
    s = r.scores({}, request=[2])
    assert max((i for i in range(6) if i != 2), key=lambda i: s[i]) == 3


def test_boosts_add_per_wished_value() -> None:
    r = SessionRanker(_sim(), POP)
    mask = np.array([0, 0, 0, 0, 0, 1], np.float32)
    assert int(np.argmax(r.scores({}, [mask, mask]))) == 5


def test_dialogue_knowledge_fits_co_mentions_and_suggestions(tmp_path: Path) -> None:
    k = DialogueKnowledge.fit([([0], [1, 2]), ([0], [1])], 6, sources=["d.jsonl"])
    assert k.dialogues == 2 and k.suggested.tolist() == [0, 2, 1, 0, 0, 0]
    assert k.comention[0, 1] > k.comention[0, 2] > 0 and k.comention[0, 0] == 0
    k.save(tmp_path / "dialogues.npz")
    back = DialogueKnowledge.load(tmp_path / "dialogues.npz", 6)
    assert back.suggested.tolist() == k.suggested.tolist() and back.sources == ("d.jsonl",)
    with pytest.raises(ModelError, match="6 items"):
        DialogueKnowledge.load(tmp_path / "dialogues.npz", 7)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="train"):
        DialogueKnowledge.load(tmp_path / "bad.npz", 6)
    ranked = SessionRanker(_sim(), POP, k).scores({0: 1.0})
    assert ranked[1] > ranked[3]  # named with item 0 in real dialogues


def test_factor_fallback_for_catalogs_without_item_knn() -> None:
    f = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.5, 0.5], [-1, 0]], np.float32)
    r = SessionRanker(None, POP, factors=f, weights=SessionWeights(knn=10.0))
    s = r.scores({0: 1.0})
    assert s[1] > s[2] and s[1] > s[5]
    with pytest.raises(ValueError, match="factors"):
        SessionRanker(None, POP)


def test_conversation_seeds_weigh_older_turns_less_and_the_newest_verdict_wins() -> None:
    seeds = conversation_seeds([(1, 1.0, 1), (2, 1.0, 3), (1, -1.0, 3)], turn=3, decay=0.5)
    assert seeds == {1: -1.0, 2: 1.0}
    assert conversation_seeds([(1, 1.0, 1)], turn=3, decay=0.5) == {1: 0.25}
