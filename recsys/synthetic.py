"""Synthetic catalogs with a known structure, for tests and for speed benchmarks at scale.

Users prefer one genre; most of their interactions fall in it, with a popularity skew inside
each genre, so a model that learns anything beats chance and most-popular on the own-genre test.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.catalog import Catalog, Interactions, ItemAttributes, Words

GENRES = ["Action", "Comedy", "Drama", "Horror", "Sci-Fi", "Romance", "Animation", "Documentary"]
MOVIE_SPEC = Path(__file__).resolve().parent.parent / "data" / "catalogs" / "movielens-small.toml"


@lru_cache(maxsize=1)
def movie_speech() -> dict[str, Any]:
    """How people talk about MovieLens, whose genres these are: the filler and stop words and
    the genre aliases of its spec (item words stay "item"); none without the spec."""
    from recsys.importer import catalog_meta
    from recsys.spec import load_spec

    if not MOVIE_SPEC.is_file():
        return {}
    meta = catalog_meta(load_spec(MOVIE_SPEC))
    w = meta["words"]
    return {"words": Words(filler=w.filler, stop=w.stop), "aliases": meta["aliases"]}


def make_catalog(n_users: int = 40, n_items: int = 60, per_user: int = 12, *,
                 n_genres: int = 4, n_tags: int = 20, in_genre: float = 0.85,
                 seed: int = 0, name: str = "synthetic") -> Catalog:
    """A catalog whose users mostly like items of their own genre (vectorized; 1M items ok)."""
    rng = np.random.default_rng(seed)
    genre_names = (GENRES + [f"genre{g}" for g in range(len(GENRES), n_genres)])[:n_genres]
    item_genre = np.arange(n_items) % n_genres  # (I,)
    user_genre = np.arange(n_users) % n_genres  # (U,)
    # within-genre popularity: Zipf-like weights by rank inside the genre
    rank_in_genre = np.arange(n_items) // n_genres
    pop = 1.0 / (1.0 + rank_in_genre) ** 0.8

    users = np.repeat(np.arange(n_users, dtype=np.int32), per_user)
    own = rng.random(len(users)) < in_genre
    items = np.empty(len(users), dtype=np.int64)
    items_by_genre = [np.flatnonzero(item_genre == g) for g in range(n_genres)]
    cdf_by_genre = [np.cumsum(pop[ix]) / pop[ix].sum() for ix in items_by_genre]
    ug = user_genre[users]
    for g in range(n_genres):
        sel = own & (ug == g)
        pick = np.searchsorted(cdf_by_genre[g], rng.random(sel.sum()))
        items[sel] = items_by_genre[g][np.minimum(pick, len(items_by_genre[g]) - 1)]
    items[~own] = rng.integers(0, n_items, (~own).sum())
    # one event per (user, item)
    key = np.unique(users.astype(np.int64) * n_items + items)
    users, items = (key // n_items).astype(np.int32), (key % n_items).astype(np.int32)
    liked = item_genre[items] == user_genre[users]
    ratings = np.where(liked, rng.choice([4.0, 4.5, 5.0], len(users)),
                       rng.choice([1.0, 2.0, 3.0], len(users))).astype(np.float32)
    stamps = (1_000_000_000 + rng.permutation(len(users)).astype(np.int64) * 60)

    genre_m = sp.csr_matrix((np.ones(n_items, np.float32), (np.arange(n_items), item_genre)),
                            shape=(n_items, n_genres))
    tag_cols = rng.integers(0, n_tags, (n_items, 2))
    tag_m = sp.csr_matrix((rng.integers(1, 4, n_items * 2).astype(np.float32),
                           (np.repeat(np.arange(n_items), 2), tag_cols.ravel())),
                          shape=(n_items, n_tags))
    tag_m.sum_duplicates()
    years = (1950 + (np.arange(n_items) * 7) % 75).astype(np.int32)
    item_ids = [str(i + 1) for i in range(n_items)]
    digest = hashlib.sha256(f"{name}:{n_users}:{n_items}:{per_user}:{seed}".encode()).hexdigest()
    return Catalog(
        name=name, fingerprint=digest[:16], title=f"Synthetic ({n_items} items)",
        item_ids=item_ids, titles=[f"Item {i + 1}" for i in range(n_items)], years=years,
        texts=[None] * n_items,
        attributes={
            "genre": ItemAttributes("genre", genre_names, genre_m),
            "tag": ItemAttributes("tag", [f"tag{t:02d}" for t in range(n_tags)], tag_m),
        },
        user_ids=[str(u + 1) for u in range(n_users)],
        interactions=Interactions(users, items, n_users, n_items, ratings=ratings,
                                  timestamps=stamps), **movie_speech())
