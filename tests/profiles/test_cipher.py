"""CIPHER's memory: preferences stored with their context, recalled by similar contexts."""

from __future__ import annotations

import pytest

from profiles.cipher import Cipher, combined
from profiles.store import ProfileStore
from recsys.embeddings import HashingEncoder
from tests.agent.manager.conftest import movie_catalog

CAT = movie_catalog()
KIDS = "any movies from the 90s for movie night with my kids"
KIDS_AGAIN = "movies from the 90s for a movie night with the kids"
ALONE = "some horror for tonight alone"


@pytest.fixture
def cipher(store: ProfileStore) -> Cipher:
    return Cipher(store, HashingEncoder(64))


def _ids(*dense: int) -> list[str]:
    return [CAT.item_ids[i] for i in dense]


def test_a_preference_is_learned_with_its_context_and_recalled_by_a_similar_one(
        cipher: Cipher, store: ProfileStore) -> None:
    ann = store.create_user("Ann")[0]
    pref = cipher.learn(ann.id, CAT, KIDS, _ids(3, 7, 1, 2), _ids(1, 2))
    assert pref is not None and pref.text == "no Horror" and pref.source == "edit"
    assert pref.context == KIDS and pref.rule == {"exclude": {"genre": ["Horror"]}, "less": {},
                                                  "ranges": {}, "items": []}
    assert pref.evidence is not None and pref.evidence["removed"] == _ids(3, 7)
    [got] = cipher.recall(ann.id, CAT, KIDS_AGAIN)
    assert got.id == pref.id and got.similarity > 0.5
    assert combined([got]).exclude == {"genre": ["Horror"]}
    assert cipher.recall(ann.id, CAT, ALONE) == []  # another situation: not applied


def test_recall_is_per_user_and_forgets_a_deleted_preference(cipher: Cipher,
                                                            store: ProfileStore) -> None:
    ann, bob = store.create_user("Ann")[0], store.create_user("Bob")[0]
    pref = cipher.learn(ann.id, CAT, KIDS, _ids(3, 7, 1), _ids(1))
    assert pref is not None
    assert cipher.recall(bob.id, CAT, KIDS) == []
    store.delete_preference(ann.id, pref.id)
    assert cipher.recall(ann.id, CAT, KIDS) == []


def test_k_nearest_contexts_and_the_context_agnostic_variant(store: ProfileStore) -> None:
    ann = store.create_user("Ann")[0]
    near = Cipher(store, HashingEncoder(64), k=1)
    near.learn(ann.id, CAT, KIDS, _ids(3, 7, 1), _ids(1))
    near.learn(ann.id, CAT, ALONE, _ids(1, 5, 3), _ids(3))  # alone: no comedies
    [got] = near.recall(ann.id, CAT, KIDS_AGAIN)
    assert got.text == "no Horror"
    agnostic = Cipher(store, HashingEncoder(64), contextual=False)
    assert {r.text for r in agnostic.recall(ann.id, CAT, KIDS_AGAIN)} == {"no Horror",
                                                                          "no Comedy"}


def test_nothing_explained_nothing_stored(cipher: Cipher, store: ProfileStore) -> None:
    ann = store.create_user("Ann")[0]
    assert cipher.learn(ann.id, CAT, KIDS, _ids(1, 2), _ids(1, 2)) is None
    assert store.profile(ann.id) == []


def test_preferences_of_another_encoder_are_not_compared(store: ProfileStore) -> None:
    ann = store.create_user("Ann")[0]
    Cipher(store, HashingEncoder(64)).learn(ann.id, CAT, KIDS, _ids(3, 7, 1), _ids(1))
    assert Cipher(store, HashingEncoder(32)).recall(ann.id, CAT, KIDS) == []
