"""A small hand-made catalog with real-looking titles, genres and tags."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from agent.nlu.lexicon import Lexicon
from recsys.catalog import Catalog, Interactions, ItemAttributes
from recsys.synthetic import movie_speech

GENRES = ["Action", "Animation", "Children", "Comedy", "Documentary", "Drama", "Film-Noir",
          "Horror", "Romance", "Sci-Fi", "Thriller", "Western"]
TAGS = ["scary", "time travel", "tom hanks", "vampire", "vampires", "funny", "good", "aliens",
        "1990s", "dark comedy", "heist"]
# title, genres, tags, number of ratings (popularity)
FILMS = [
    ("Alien (1979)", ["Horror", "Sci-Fi"], ["scary", "aliens"], 30),
    ("Aliens (1986)", ["Action", "Horror", "Sci-Fi"], ["aliens"], 20),
    ("Matrix, The (1999)", ["Action", "Sci-Fi"], ["1990s"], 40),
    ("Up (2009)", ["Animation", "Children", "Comedy"], ["funny"], 25),
    ("Her (2013)", ["Drama", "Romance", "Sci-Fi"], [], 15),
    ("It (2017)", ["Horror"], ["scary"], 10),
    ("Heat (1995)", ["Action", "Thriller"], ["heist"], 22),
    ("Thing, The (1951)", ["Horror", "Sci-Fi"], [], 3),
    ("Thing, The (1982)", ["Horror", "Sci-Fi"], ["scary"], 18),
    ("Toy Story (1995)", ["Animation", "Children", "Comedy"], ["tom hanks", "funny"], 45),
    ("Shawshank Redemption, The (1994)", ["Drama"], ["good"], 50),
    ("Superhero Movie (2008)", ["Action", "Comedy"], [], 2),
    ("Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)", ["Comedy", "Romance"], [], 12),
    ("Seven (a.k.a. Se7en) (1995)", ["Thriller"], [], 28),
    ("Back to the Future (1985)", ["Comedy", "Sci-Fi"], ["time travel"], 35),
    ("Dracula (1931)", ["Horror"], ["vampire", "vampires"], 4),
    ("Unforgiven (1992)", ["Drama", "Western"], [], 9),
    ("Maltese Falcon, The (1941)", ["Film-Noir"], [], 6),
]


def film_catalog() -> Catalog:
    """18 films; ratings counts set popularity (The Thing 1982 beats 1951); people talk about
    them as about MovieLens (its spec's filler words and genre aliases)."""
    n = len(FILMS)

    def matrix(vocab: list[str], col: int) -> sp.csr_matrix:
        rows, cols = [], []
        for i, film in enumerate(FILMS):
            for v in film[col]:
                rows.append(i)
                cols.append(vocab.index(v))
        return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                             shape=(n, len(vocab)))

    items = np.concatenate([np.full(f[3], i) for i, f in enumerate(FILMS)]).astype(np.int32)
    users = np.arange(len(items), dtype=np.int32) % 60
    key = np.unique(users.astype(np.int64) * n + items)
    users, items = (key // n).astype(np.int32), (key % n).astype(np.int32)
    years = np.array([int(f[0][-5:-1]) for f in FILMS], dtype=np.int32)
    return Catalog(
        name="films", fingerprint="films-v1", item_ids=[str(i + 1) for i in range(n)],
        titles=[f[0] for f in FILMS], years=years, texts=[None] * n,
        attributes={"genre": ItemAttributes("genre", GENRES, matrix(GENRES, 1)),
                    "tag": ItemAttributes("tag", TAGS, matrix(TAGS, 2))},
        user_ids=[str(u) for u in range(60)],
        interactions=Interactions(users, items, 60, n), **movie_speech())


@pytest.fixture(scope="session")
def films() -> Lexicon:
    return Lexicon.build(film_catalog())
