"""One contract, one suite: every registered recommender passes the same tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from recsys.catalog import Catalog
from recsys.errors import ModelError, UnknownItemError, UnknownNameError, UnknownUserError
from recsys.models import Recommender, available, create
from recsys.split import temporal_split

FAST: dict[str, dict[str, Any]] = {
    "popularity": {},
    "itemknn": {"neighbours": 20},
    "als": {"factors": 8, "iterations": 8, "random_state": 0},
    "bpr": {"factors": 8, "learning_rate": 0.05, "iterations": 60, "random_state": 0},
}
PERSONALISED = [m for m in available() if m != "popularity"]


def test_registry_covers_every_model() -> None:
    assert sorted(available()) == sorted(FAST)
    with pytest.raises(UnknownNameError, match="unknown model 'svd'; valid: als, bpr"):
        create("svd")


@pytest.fixture(params=available())
def name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def fitted(name: str, tiny_catalog: Catalog) -> Recommender:
    return create(name, **FAST[name]).fit(tiny_catalog.interactions, progress=False)


def _seen(cat: Catalog, user: int) -> set[int]:
    inter = cat.interactions
    return set(inter.items[inter.users == user].tolist())


def test_recommend_shape_order_and_seen(fitted: Recommender, tiny_catalog: Catalog) -> None:
    r = fitted.recommend(3, 10)
    assert r.ids.dtype == np.int32 and r.scores.dtype == np.float32 and len(r) == 10
    assert np.all(np.diff(r.scores) <= 0), "scores must be sorted best first"
    assert len(set(r.ids.tolist())) == 10
    assert not set(r.ids.tolist()) & _seen(tiny_catalog, 3)
    with_seen = fitted.recommend(3, tiny_catalog.n_items, filter_seen=False)
    assert len(with_seen) == tiny_catalog.n_items
    # n beyond the catalog: every unseen item once, no padding
    everything = fitted.recommend(3, 10 * tiny_catalog.n_items)
    assert len(everything) == tiny_catalog.n_items - len(_seen(tiny_catalog, 3))


def test_exclude_and_candidates(fitted: Recommender, tiny_catalog: Catalog) -> None:
    top = fitted.recommend(5, 5).ids.tolist()
    again = fitted.recommend(5, 5, exclude=top[:2]).ids.tolist()
    assert not set(top[:2]) & set(again) and again[:3] == top[2:]
    cands = [c for c in range(0, tiny_catalog.n_items, 7) if c not in _seen(tiny_catalog, 5)]
    r = fitted.recommend(5, 100, candidates=cands + cands[:2])  # duplicates ignored
    assert sorted(r.ids.tolist()) == sorted(cands)
    assert len(fitted.recommend(5, 100, candidates=cands, exclude=cands[:3])) == len(cands) - 3
    assert len(fitted.recommend(5, 3, candidates=[])) == 0


def test_bad_arguments_name_the_argument(fitted: Recommender) -> None:
    with pytest.raises(ValueError, match="n must be a positive"):
        fitted.recommend(0, 0)
    with pytest.raises(ValueError, match="candidates contains item index 999"):
        fitted.recommend(0, 5, candidates=[1, 999])
    with pytest.raises(ValueError, match="exclude contains item index -1"):
        fitted.recommend(0, 5, exclude=[-1])
    with pytest.raises(UnknownUserError, match="out of range"):
        fitted.recommend(10_000, 5)


def test_not_fitted_is_a_clear_error(name: str) -> None:
    with pytest.raises(ModelError, match=f"model '{name}' is not fitted"):
        create(name, **FAST[name]).recommend(0, 5)


def test_user_without_history(name: str, tiny_catalog: Catalog) -> None:
    inter = tiny_catalog.interactions
    model = create(name, **FAST[name]).fit(inter.subset(inter.users != 0), progress=False)
    if model.personalised:
        with pytest.raises(UnknownUserError, match="nothing to personalise from"):
            model.recommend(0, 5)
    else:
        assert len(model.recommend(0, 5)) == 5  # popularity serves newcomers


def test_similar_items(fitted: Recommender, tiny_catalog: Catalog) -> None:
    r = fitted.similar_items(4, 5)
    assert 4 not in r.ids.tolist() and len(r) == 5
    assert np.all(np.diff(r.scores) <= 0)
    if fitted.personalised:
        genre = tiny_catalog.attributes["genre"].matrix.argmax(axis=1).A1
        same = np.mean([genre[i] == genre[4] for i in fitted.similar_items(4, 5).ids])
        assert same >= 0.6, "similar items should mostly share the item's genre"
    with pytest.raises(UnknownItemError):
        fitted.similar_items(10_000)


def test_batch_agrees_with_single(fitted: Recommender) -> None:
    users = [0, 7, 19]
    ids, scores = fitted.recommend_batch(users, 6)
    assert ids.shape == scores.shape == (3, 6)
    for row, u in enumerate(users):
        single = fitted.recommend(u, 6)
        np.testing.assert_array_equal(ids[row], single.ids)
        np.testing.assert_allclose(scores[row], single.scores, rtol=1e-5, atol=1e-6)


def test_score_matches_recommend(fitted: Recommender) -> None:
    r = fitted.recommend(2, 5, filter_seen=False)
    np.testing.assert_allclose(fitted.score(2, r.ids), r.scores, rtol=1e-5, atol=1e-6)
    assert fitted.score(2).shape == (fitted.n_items,)


@pytest.mark.parametrize("model_name", PERSONALISED)
def test_learns_the_users_genre(model_name: str) -> None:
    """On held-out events, personalised models hit the user's own genre far above chance."""
    from recsys.synthetic import make_catalog

    cat = make_catalog(n_users=120, n_items=200, per_user=25, n_genres=4, seed=1)
    train, _ = temporal_split(cat.interactions)
    model = create(model_name, **FAST[model_name]).fit(train, progress=False)
    genre = cat.attributes["genre"].matrix.argmax(axis=1).A1
    user_genre = np.arange(cat.n_users) % 4
    ids, _ = model.recommend_batch(np.arange(cat.n_users), 10)
    own = np.mean(genre[ids] == user_genre[:, None])
    assert own > 0.6, f"{model_name}: {own:.2f} of its items in the user's genre (chance 0.25)"


def test_mf_with_faiss_index_recommends_the_same(tiny_catalog: Catalog) -> None:
    from recsys.index import VectorIndex

    model = create("als", **FAST["als"]).fit(tiny_catalog.interactions, progress=False)
    plain = [model.recommend(u, 10).ids.tolist() for u in range(tiny_catalog.n_users)]
    model.attach_index(VectorIndex.build(model.item_factors, "flat"))
    assert [model.recommend(u, 10).ids.tolist() for u in range(tiny_catalog.n_users)] == plain
    with pytest.raises(ValueError, match="dimension"):
        model.attach_index(VectorIndex.build(np.eye(3, dtype=np.float32), "flat"))


@pytest.mark.parametrize("model_name", ["als", "bpr"])
def test_mf_with_a_raw_faiss_index(model_name: str, tiny_catalog: Catalog) -> None:
    """Any object with faiss's ``search(queries, k) -> (scores, ids)`` serves as the index."""
    import faiss

    model = create(model_name, **FAST[model_name]).fit(tiny_catalog.interactions,
                                                       progress=False)
    users = range(tiny_catalog.n_users)
    plain = [model.recommend(u, 10, exclude=[1, 2]) for u in users]
    index = faiss.IndexFlatIP(model.item_factors.shape[1])
    index.add(model.item_factors)
    model.attach_index(index)
    for u, p in zip(users, plain, strict=True):
        r = model.recommend(u, 10, exclude=[1, 2])
        np.testing.assert_array_equal(r.ids, p.ids)
        np.testing.assert_allclose(r.scores, p.scores, rtol=1e-5, atol=1e-6)
    model.attach_index(None)
    assert model.recommend(0, 10, exclude=[1, 2]).ids.tolist() == plain[0].ids.tolist()
