"""Choice scenes from real feedback: what a user had seen, what was on offer, what they chose.

The UserMirrorer protocol ("Mirroring Users", in the seeds), on a catalog's own interactions:
per user and time step, the user's history before that step (items with their ratings), an
exposure list of N items holding the item the user really chose next and N-1 negatives, and
the real choice. Negatives alternate between a popularity draw and a draw among the items most
like the real choice (same genres, people, keywords), so neither "pick the popular one" nor
"pick the one like my history" solves the task alone; none of them is anything the user ever
rated, so a negative is never a hidden positive.

Users are split by a stable hash of their external id (``user_part``) into train / dev /
heldout; everything a chooser learns from (popularity, MF, co-occurrence) comes from the
train users' events only (``World``), so held-out scenes are unseen in every sense.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from recsys.catalog import Catalog

PARTS = ("train", "dev", "heldout")
# attribute fields that say what an item is like; the rest (language, rating) say little
CONTENT_FIELDS = ("genre", "director", "cast", "keywords", "genome", "tag", "tags", "artist",
                  "writer", "author", "category", "categories")
SIMILAR_POOL = 50  # similarity negatives are drawn among the real choice's 50 nearest items
SHRINK = 5  # an item's mean rating is shrunk toward the global mean by this many ratings


def user_part(ext_id: str, shares: tuple[float, float] = (0.7, 0.85)) -> str:
    """'train', 'dev' or 'heldout' for a user, from a hash of their id (stable across runs)."""
    h = int(hashlib.sha1(f"scene-user:{ext_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "train" if h < shares[0] else "dev" if h < shares[1] else "heldout"


@dataclass(frozen=True)
class Scene:
    """One real choice: ``history`` (oldest first) before ``time``, then ``chosen``."""

    user: int
    time: int  # timestamp of the choice (-1 unknown)
    history: tuple[int, ...]
    ratings: tuple[float, ...]  # aligned with history; nan where the source has no rating
    chosen: int
    negatives: tuple[int, ...]  # popularity and similarity draws, alternating

    def options(self, n: int) -> tuple[tuple[int, ...], int]:
        """The first ``n`` items on offer, shuffled, and the index of the real choice.

        The shuffle is seeded by the scene, so every chooser sees the same order; the N=5
        list is the N=10 list's choice and first four negatives.
        """
        if not 2 <= n <= len(self.negatives) + 1:
            raise ValueError(f"a scene has {len(self.negatives) + 1} options, asked for {n}")
        items = [self.chosen, *self.negatives[:n - 1]]
        rng = np.random.default_rng([self.user, self.time & 0x7FFFFFFF, n])
        order = rng.permutation(n)
        shuffled = tuple(items[k] for k in order)
        return shuffled, int(np.flatnonzero(order == 0)[0])


@dataclass
class World:
    """What the train users' events say about items: counts, co-occurrence, content, time."""

    catalog: Catalog
    train_users: np.ndarray  # dense user indices whose events choosers may learn from

    @cached_property
    def events(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(users, items, ratings, timestamps) of the train users' events."""
        inter = self.catalog.interactions
        mask = np.isin(inter.users, self.train_users)
        ratings = (inter.ratings[mask] if inter.ratings is not None
                   else np.full(int(mask.sum()), np.nan, dtype=np.float32))
        stamps = (inter.timestamps[mask] if inter.timestamps is not None
                  else np.full(int(mask.sum()), -1, dtype=np.int64))
        return inter.users[mask], inter.items[mask], ratings, stamps

    @cached_property
    def counts(self) -> np.ndarray:
        """(I,) how many train users interacted with each item."""
        return np.bincount(self.events[1], minlength=self.catalog.n_items).astype(np.float64)

    @cached_property
    def rating_stats(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(I,) count and (I,) sum of each item's train ratings, and the global mean."""
        _, items, ratings, _ = self.events
        ok = ~np.isnan(ratings)
        n = np.bincount(items[ok], minlength=self.catalog.n_items).astype(np.float64)
        s = np.bincount(items[ok], weights=ratings[ok], minlength=self.catalog.n_items)
        return n, s, float(ratings[ok].mean()) if ok.any() else 0.0

    @cached_property
    def user_rows(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(U, I) which items each train user chose (1) and their ratings (nan -> 0; rows of
        users outside train are empty): a train scene's own events, to leave out of its
        features (``own``)."""
        users, items, ratings, _ = self.events
        shape = (self.catalog.n_users, self.catalog.n_items)
        chose = sp.csr_matrix((np.ones(len(users)), (users, items)), shape=shape)
        chose.data[:] = 1.0  # a repeated event is one choice
        ok = ~np.isnan(ratings)
        rated = sp.csr_matrix((np.ones(int(ok.sum())), (users[ok], items[ok])), shape=shape)
        rated.data[:] = 1.0
        total = sp.csr_matrix((ratings[ok].astype(np.float64), (users[ok], items[ok])),
                              shape=shape)
        return chose, total  # repeated events sum, as in ``rating_stats`` (MovieLens has none)

    def own(self, user: int, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For ``items``: whether ``user`` is among the train users who chose each (0/1) and
        the rating they gave (0 where none). Non-train users: zeros. Subtracting these gives
        the train statistics as they were without this user: a train scene's features must
        not count the user's own choice, or a chooser learns from a signal held-out users
        never carry (the real choice co-occurring with the history in the user's own row)."""
        chose, total = self.user_rows
        return (np.asarray(chose[user, items].todense()).ravel(),
                np.asarray(total[user, items].todense()).ravel())

    @cached_property
    def first_seen(self) -> np.ndarray:
        """(I,) the earliest train timestamp of each item (max int where never seen)."""
        _, items, _, stamps = self.events
        out = np.full(self.catalog.n_items, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(out, items, stamps)
        return out

    @cached_property
    def timeline(self) -> tuple[np.ndarray, np.ndarray]:
        """Train events sorted by time: (timestamps, items), for counts in a time window."""
        _, items, _, stamps = self.events
        order = np.argsort(stamps, kind="stable")
        return stamps[order], items[order]

    def recent_counts(self, t: int, items: np.ndarray, days: float = 90) -> np.ndarray:
        """How often each of ``items`` was chosen by train users in the ``days`` before ``t``."""
        stamps, its = self.timeline
        lo, hi = np.searchsorted(stamps, [t - days * 86400, t])
        window = its[lo:hi]
        return np.array([(window == i).sum() for i in items], dtype=np.float64)

    @cached_property
    def chose_matrix(self) -> sp.csc_matrix:
        """(U, I) train user x item, 1 where the user chose the item (column access)."""
        return sp.csc_matrix(self.user_rows[0])

    @cached_property
    def content(self) -> sp.csr_matrix:
        """(I, V) item x attribute value, idf-weighted, rows L2-normalised."""
        blocks = [a.matrix for f, a in self.catalog.attributes.items()
                  if f in CONTENT_FIELDS or len(self.catalog.attributes) <= 2]
        if not blocks:
            blocks = [a.matrix for a in self.catalog.attributes.values()]
        m = sp.hstack([sp.csr_matrix(b, dtype=np.float64) for b in blocks]).tocsr()
        m.data[:] = 1.0
        df = np.asarray(m.sum(axis=0)).ravel()
        idf = np.log((1 + m.shape[0]) / (1 + df)) + 1.0
        m = sp.csr_matrix(m @ sp.diags(idf))
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms) @ m)

    @cached_property
    def als(self):  # noqa: ANN201 - ALSRecommender, imported lazily
        """Implicit ALS fitted on the train users' events only."""
        from recsys.catalog import Interactions
        from recsys.models.mf import ALSRecommender

        users, items, ratings, stamps = self.events
        inter = Interactions(users, items, self.catalog.n_users, self.catalog.n_items)
        return ALSRecommender(factors=32).fit(inter, progress=False)


@dataclass
class SceneSet:
    """Scenes by part, the world they were drawn in, and how they were drawn."""

    scenes: dict[str, list[Scene]]
    world: World
    params: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {p: len(s) for p, s in self.scenes.items()}


def build_scenes(catalog: Catalog, *, n_options: int = 10, history: int = 20,
                 min_history: int = 5, per_user: int = 4, train_per_user: int = 20,
                 seed: int = 0, progress: bool | None = None) -> SceneSet:
    """Scenes from every user's timeline (see the module doc); ``per_user`` steps for dev and
    heldout users, ``train_per_user`` for train users, each step at least ``min_history`` in."""
    from tqdm.auto import tqdm

    from recsys.models.base import show_progress

    inter = catalog.interactions
    if inter.timestamps is None:
        raise ValueError(f"catalog '{catalog.name}' has no timestamps; a scene needs the order "
                         "in which a user chose items")
    ext = list(catalog.user_index)  # dense index -> external id
    parts = np.array([user_part(u) for u in ext])
    world = World(catalog, np.flatnonzero(parts == "train").astype(np.int32))
    rng = np.random.default_rng(seed)
    counts = world.counts
    pop_p = counts ** 0.75 / (counts ** 0.75).sum()  # word2vec-style flattening
    content = world.content
    ratings = (inter.ratings if inter.ratings is not None
               else np.full(len(inter), np.nan, dtype=np.float32))
    order = np.lexsort((np.arange(len(inter)), inter.timestamps, inter.users))
    starts = np.searchsorted(inter.users[order], np.arange(catalog.n_users + 1))
    out: dict[str, list[Scene]] = {p: [] for p in PARTS}
    bar = tqdm(range(catalog.n_users), desc="building choice scenes", unit="user",
               disable=not show_progress(progress), leave=False)
    for u in bar:
        ev = order[starts[u]:starts[u + 1]]
        if len(ev) <= min_history:
            continue
        part = str(parts[u])
        seen = set(inter.items[ev].tolist())
        k = train_per_user if part == "train" else per_user
        steps = np.sort(rng.choice(np.arange(min_history, len(ev)),
                                   size=min(k, len(ev) - min_history), replace=False))
        for s in steps.tolist():
            chosen = int(inter.items[ev[s]])
            before = ev[max(0, s - history):s]
            negs = _negatives(chosen, seen, n_options - 1, pop_p, content, rng)
            out[part].append(Scene(u, int(inter.timestamps[ev[s]]),
                                   tuple(inter.items[before].tolist()),
                                   tuple(float(r) for r in ratings[before]), chosen, negs))
    params = {"n_options": n_options, "history": history, "min_history": min_history,
              "per_user": per_user, "train_per_user": train_per_user, "seed": seed}
    return SceneSet(out, world, params)


def _negatives(chosen: int, seen: set[int], n: int, pop_p: np.ndarray, content: sp.csr_matrix,
               rng: np.random.Generator) -> tuple[int, ...]:
    """``n`` distinct unseen items: popularity draws and draws among ``chosen``'s neighbours,
    alternating (pop, similar, pop, ...)."""
    sims = np.asarray((content @ content[chosen].T).todense()).ravel()
    sims[list(seen)] = -np.inf
    pool = np.argpartition(-sims, SIMILAR_POOL)[:SIMILAR_POOL]
    pool = pool[np.isfinite(sims[pool]) & (sims[pool] > 0)]
    similar = list(rng.permutation(pool).tolist())
    taken: set[int] = set(seen)
    out: list[int] = []
    while len(out) < n:
        if len(out) % 2 == 1 and similar:
            cand = int(similar.pop())
        else:
            cand = int(rng.choice(len(pop_p), p=pop_p))
        if cand not in taken:
            taken.add(cand)
            out.append(cand)
    return tuple(out)


def views(scenes: Sequence[Scene], n: int) -> list[tuple[Scene, tuple[int, ...], int]]:
    """(scene, options, index of the real choice) at list size ``n``."""
    return [(s, *s.options(n)) for s in scenes]
