"""Folding a new user's in-session likes into an MF model: their genre comes first."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.models import create
from recsys.synthetic import make_catalog


@pytest.mark.parametrize("name", ["als"])  # the ALS user solve; BPR has none
def test_fold_in_ranks_the_liked_genre_first(name: str) -> None:
    cat = make_catalog(n_users=200, n_items=120, per_user=15, seed=1)
    model = create(name, factors=16, iterations=15).fit(cat.interactions, progress=False)
    genre = cat.attributes["genre"].matrix.toarray().argmax(axis=1)
    liked = np.flatnonzero(genre == 2)[:3]
    vec = model.fold_in(liked)
    top = model.rank_for_vector(vec, 10, candidates=None, exclude=liked)
    assert not np.isin(top.ids, liked).any()
    assert (genre[top.ids] == 2).mean() >= 0.7
    within = model.rank_for_vector(vec, 5, candidates=np.arange(0, 120, 2), exclude=liked)
    assert (within.ids % 2 == 0).all()
    assert not model.fold_in([]).any()
