"""Ranking from a whole conversation: every title the person mentioned, liked or pushed away.

``SessionRanker.scores(seeds)`` scores every item as

    prior(i) + sum_s w_s * (knn * sim(s, i) + comention * co(s, i))

where ``seeds`` maps items to signed weights (a like or a mention > 0, "nothing like X" or a
dislike < 0, older turns weighted down by the caller), ``sim`` is item-kNN cosine over the
catalog's ratings, ``co`` how often two films are named in the same real dialogue
(``DialogueKnowledge``) and the prior mixes rating popularity with how often real human
recommenders suggested the item. Everything is sparse: a turn costs O(seeds x neighbours + I).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recsys.errors import ModelError
from recsys.kept import Kept


@dataclass(frozen=True)
class SessionWeights:
    """Weights of each part, in z-units of the prior; fitted by ``benchmarks/redial.py --tune``
    on ReDial training dialogues (never on the file it scores)."""

    knn: float = 3.0
    comention: float = 2.0
    popularity: float = 0.0  # z-scored log(1 + ratings)
    suggested: float = 0.5  # z-scored log(1 + times human recommenders suggested it)
    decay: float = 1.0  # a seed's weight per turn of age (1: every mention counts alike)
    genre: float = 2.0  # soft boost of an item per wished catalog-wide value (z-units)
    # Not from the fit: ReDial's recommenders answer "like X" mostly with popular films (the
    # fit chose 1.0 / 1.0), while a person asking "more like Toy Story" wants Toy Story's
    # neighbours (SCENARIOS 5, 7, 16, 28); the cost on the fit's validation dialogues is
    # reported by ``benchmarks/redial.py --tune``.
    request: float = 2.0  # the standing request's own seeds ("like X"), nearest = 1
    request_prior: float = 0.75  # the prior's share when the request is "like X"


FACTOR_NEIGHBOURS = 500  # neighbours per seed when ranking by item factors
NEIGHBOURS_KEPT = 512  # seeds whose factor neighbours are kept across turns


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


@dataclass
class DialogueKnowledge:
    """What real recommendation dialogues say about a catalog's items.

    ``suggested[i]``: times a human recommender named item i; ``comention``: (I, I) log(1 +
    dialogues naming both items). Fitted by ``fit`` from dialogues mapped to the catalog.
    """

    suggested: np.ndarray  # (I,) float32
    comention: sp.csr_matrix  # (I, I) float32, symmetric, zero diagonal
    dialogues: int = 0
    sources: tuple[str, ...] = ()

    @classmethod
    def empty(cls, n_items: int) -> DialogueKnowledge:
        return cls(np.zeros(n_items, np.float32), sp.csr_matrix((n_items, n_items),
                                                                 dtype=np.float32))

    @classmethod
    def fit(cls, dialogues: Iterable[tuple[Sequence[int], Sequence[int]]], n_items: int, *,
            sources: Sequence[str] = ()) -> DialogueKnowledge:
        """From (items the seeker named, items the recommender named) per dialogue."""
        suggested = np.zeros(n_items, np.float64)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        count = 0
        for seeker, recommender in dialogues:
            count += 1
            rec = np.unique(np.asarray(recommender, np.int64))
            suggested[rec] += 1
            items = np.unique(np.asarray([*seeker, *recommender], np.int64))
            if len(items) > 1:
                a, b = np.meshgrid(items, items)
                keep = a != b
                rows.append(a[keep])
                cols.append(b[keep])
        r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        co = sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(n_items, n_items))
        co.sum_duplicates()
        co.data = np.log1p(co.data).astype(np.float32)
        return cls(suggested.astype(np.float32), co, count, tuple(sources))

    def save(self, path: Path, fingerprint: str | None = None) -> None:
        """npz + JSON meta beside it (with the catalog version it was fitted on), written
        atomically (no pickle)."""
        import os
        import tempfile

        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
        os.close(fd)
        co = self.comention
        np.savez(tmp, suggested=self.suggested, data=co.data, indices=co.indices,
                 indptr=co.indptr, shape=np.array(co.shape))
        os.replace(tmp, path)
        meta = {"dialogues": self.dialogues, "sources": list(self.sources),
                "items": int(len(self.suggested)), "fingerprint": fingerprint}
        path.with_suffix(".json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, path: Path, n_items: int) -> DialogueKnowledge:
        try:
            with np.load(path) as z:
                co = sp.csr_matrix((z["data"], z["indices"], z["indptr"]),
                                   shape=tuple(z["shape"]))
                suggested = np.asarray(z["suggested"], np.float32)
            meta = json.loads(path.with_suffix(".json").read_text())
        except (OSError, ValueError, KeyError) as e:
            raise ModelError(f"cannot read dialogue knowledge {path}: {e}; run `tastebud "
                             "train` again") from None
        if len(suggested) != n_items:
            raise ModelError(f"dialogue knowledge {path} is for {len(suggested)} items, the "
                             f"catalog has {n_items}; run `tastebud train` again")
        return cls(suggested, co, int(meta.get("dialogues", 0)),
                   tuple(meta.get("sources", ())))


class SessionRanker:
    """Scores every item from a conversation's signed seeds; see the module docstring."""

    def __init__(self, similarity: sp.csr_matrix | None, popularity: np.ndarray,
                 knowledge: DialogueKnowledge | None = None,
                 weights: SessionWeights | None = None, *,
                 factors: np.ndarray | None = None) -> None:
        """``similarity``: (I, I) item-kNN rows; None with ``factors`` (I, d) on catalogs too
        big for an item-kNN matrix: a seed's neighbours are then its factors' cosines,
        computed for the seeds of each turn (O(seeds x I x d))."""
        n = len(popularity)
        self.weights = w = weights or SessionWeights()
        self.factors: np.ndarray | None = None
        if similarity is None:
            if factors is None:
                raise ValueError("SessionRanker needs an item-kNN similarity or item factors")
            from recsys.index import VectorIndex, auto_kind

            f = np.asarray(factors, np.float32)
            self.factors = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-9)
            # a seed's neighbours come from a faiss search over the unit factors (top
            # FACTOR_NEIGHBOURS), not a dense (I x seeds) product: ~10x cheaper at 1M items
            kind = "ivf" if n > 200_000 else auto_kind(*self.factors.shape)
            self._index = VectorIndex.build(self.factors, kind)  # IVF: ~17 s once at 1M
            # a seed's neighbours are asked again each turn it stays in the conversation
            self._neighbours: Kept[tuple[np.ndarray, np.ndarray]] = Kept(NEIGHBOURS_KEPT)
            similarity = sp.csr_matrix((n, n), dtype=np.float32)
        sim = sp.csr_matrix(similarity, dtype=np.float32)
        self.similarity = sim
        # cosine favours popular neighbours of every seed; for what the request is "like"
        # right now, each row is scaled so the seed's own nearest item has 1
        scale = np.ones(sim.shape[0], np.float32)
        rows = np.diff(sim.indptr) > 0
        if sim.nnz:
            scale[rows] = 1.0 / np.maximum(np.maximum.reduceat(sim.data, sim.indptr[:-1][rows]),
                                           1e-6)
        self.nearest = sp.csr_matrix(sp.diags(scale) @ sim, dtype=np.float32)
        self.knowledge = knowledge or DialogueKnowledge.empty(n)
        pop = _z(np.log1p(np.asarray(popularity, np.float64)))
        if self.knowledge.suggested.any():
            prior = w.popularity * pop
            prior += w.suggested * _z(np.log1p(self.knowledge.suggested.astype(np.float64)))
            prior += 1e-3 * pop  # among items no dialogue names, the more rated first
        else:  # no dialogues: popularity is the whole prior
            prior = pop
        self.prior = prior.astype(np.float32)

    @property
    def n_items(self) -> int:
        return len(self.prior)

    def scores(self, seeds: Mapping[int, float], boosts: Sequence[np.ndarray] = (),
               request: Sequence[int] = ()) -> np.ndarray:
        """(I,) scores; ``boosts``: item weights of wished soft values (each x ``genre``);
        ``request``: the items the request is "like" now, ranked by their own nearest."""
        out = self.prior.copy()
        if len(request):
            # asked for "like X": what is near X matters more than what is popular
            out *= self.weights.request_prior
            idx = np.asarray(request, np.int64)
            out += self.weights.request * self._near(idx, np.ones(len(idx), np.float32), True)
        if seeds:
            idx = np.fromiter(seeds.keys(), np.int64, len(seeds))
            val = np.fromiter(seeds.values(), np.float32, len(seeds))
            w = self.weights
            out += w.knn * self._near(idx, val, False)
            co = self.knowledge.comention
            if co.nnz:
                out += w.comention * np.asarray(co[idx].T @ val).ravel()
        for mask in boosts:
            out += self.weights.genre * mask.astype(np.float32)
        return out

    def _near(self, idx: np.ndarray, val: np.ndarray, nearest: bool) -> np.ndarray:
        """sum_s val_s * sim(s, .): item-kNN rows, or factor cosines (each seed's best = 1
        when ``nearest``) on catalogs ranked by factors."""
        if self.factors is None:
            m = self.nearest if nearest else self.similarity
            return np.asarray(m[idx].T @ val).ravel()
        k = min(FACTOR_NEIGHBOURS + 1, len(self.factors))

        def search(seed: int) -> tuple[np.ndarray, np.ndarray]:
            s, i = self._index.search(self.factors[seed:seed + 1], k)  # best first
            return s[0].copy(), i[0].copy()

        rows = [self._neighbours.get(int(s), lambda s=int(s): search(s)) for s in idx]
        sims = np.stack([r[0] for r in rows])  # (S, k); a copy: kept rows stay as found
        ids = np.stack([r[1] for r in rows])
        sims = np.where((ids >= 0) & (ids != idx[:, None]), np.maximum(sims, 0.0), 0.0)
        if nearest:
            sims /= np.maximum(sims.max(axis=1, keepdims=True), 1e-9)
        out = np.zeros(len(self.factors), np.float32)
        np.add.at(out, np.where(ids >= 0, ids, 0).ravel(), (sims * val[:, None]).ravel())
        return out

    def describe(self) -> dict[str, object]:
        return {"weights": asdict(self.weights), "dialogues": self.knowledge.dialogues,
                "sources": list(self.knowledge.sources)}


def conversation_seeds(events: Sequence[tuple[int, float, int]], turn: int,
                       decay: float) -> dict[int, float]:
    """Signed seed weights from (item, polarity, turn) events, older ones weighted down;
    the newest event about an item decides its sign."""
    out: dict[int, float] = {}
    for item, polarity, at in events:
        out[item] = float(polarity) * decay ** max(0, turn - at)
    return out
