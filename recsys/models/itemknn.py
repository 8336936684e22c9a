"""Item-item cosine k-nearest-neighbours (Sarwar et al. 2001; implicit's CosineRecommender)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.models.base import Recommender

_BLOCK_CELLS = 1 << 24  # dense similarity cells computed at once (64 MB of float32)


def cosine_knn(user_items: sp.csr_matrix, neighbours: int, *, shrink: float = 0.0,
               progress: bool = False) -> sp.csr_matrix:
    """(I, I) matrix whose row j holds item j's ``neighbours`` most cosine-similar items.

    ``shrink`` is added to the cosine's denominator |a||b|: it damps similarities between
    rarely seen items, whose cosine rests on a few users.
    """
    from tqdm.auto import tqdm

    x = sp.csc_matrix(user_items, dtype=np.float32)
    n_items = x.shape[1]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0), dtype=np.float32).ravel())
    xt = x.T.tocsr()  # (I, U)
    k = min(neighbours, n_items - 1)
    block = max(1, _BLOCK_CELLS // max(n_items, 1))
    rows, cols, vals = [], [], []
    for r0 in tqdm(range(0, n_items, block), desc="itemknn", disable=not progress, unit="blk"):
        r1 = min(r0 + block, n_items)
        dots = (xt[r0:r1] @ x).toarray()  # (b, I)
        denom = norms[r0:r1, None] * norms[None, :] + shrink
        sims = np.divide(dots, denom, out=np.zeros_like(dots), where=denom > 0)
        sims[np.arange(r1 - r0), np.arange(r0, r1)] = 0.0  # an item is not its own neighbour
        if k <= 0:
            continue
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_vals = np.take_along_axis(sims, top, axis=1)
        keep = top_vals > 0
        rows.append(np.repeat(np.arange(r0, r1), k)[keep.ravel()])
        cols.append(top[keep])
        vals.append(top_vals[keep])
    if not rows:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    w = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(n_items, n_items), dtype=np.float32)
    w.sort_indices()
    return w


class ItemKNNRecommender(Recommender):
    """score(u, i) = sum over the user's items j of weight(u, j) * sim(j, i), top-K pruned."""

    name = "itemknn"

    def __init__(self, neighbours: int = 100, shrink: float = 0.0) -> None:
        super().__init__()
        if neighbours <= 0:
            raise ValueError(f"neighbours must be positive, got {neighbours}")
        self.neighbours = int(neighbours)
        self.shrink = float(shrink)
        self.similarity = sp.csr_matrix((0, 0), dtype=np.float32)  # (I, I) pruned rows

    def _fit(self, user_items: sp.csr_matrix, progress: bool) -> None:
        self.similarity = cosine_knn(user_items, self.neighbours, shrink=self.shrink,
                                     progress=progress)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return np.asarray((self.seen[users] @ self.similarity).toarray(), dtype=np.float32)

    def _similar(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        w = self.similarity
        lo, hi = w.indptr[item], w.indptr[item + 1]
        return w.indices[lo:hi], w.data[lo:hi]

    def to_arrays(self) -> dict[str, np.ndarray]:
        w = self.similarity
        return {"sim_data": w.data, "sim_indices": w.indices, "sim_indptr": w.indptr,
                "sim_shape": np.array(w.shape)}

    def from_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.similarity = sp.csr_matrix(
            (arrays["sim_data"], arrays["sim_indices"], arrays["sim_indptr"]),
            shape=tuple(arrays["sim_shape"]))
