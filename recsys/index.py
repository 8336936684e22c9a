"""Inner-product vector indexes over faiss (exact, IVF, HNSW) with atomic save and load.

``VectorIndex.search(queries, k)`` is the accelerator interface MF recommenders accept through
``attach_index``. ``SemanticIndex`` embeds a catalog's item texts into one and caches both on disk.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from recsys.errors import ModelError
from recsys.kept import Kept
from recsys.ranked import Ranked

if TYPE_CHECKING:
    from recsys.catalog import Catalog
    from recsys.embeddings import Encoder
    from recsys.lexical import LexicalIndex
    from recsys.settings import Settings

IndexKind = Literal["flat", "ivf", "hnsw"]
KINDS: tuple[str, ...] = ("flat", "ivf", "hnsw")
_PARALLEL_FROM = 8  # batches at least this large use every OpenMP thread
_EXACT_MAX_CELLS = 2**27  # n * d up to which "auto" scans exactly (2M x 64, 350k x 384)


def ivf_params(n: int) -> tuple[int, int]:
    """(nlist, nprobe) for ``n`` vectors: about 2*sqrt(n) lists, probing 1/8 of them.

    Lists of ~500 vectors keep the coarse search cheap; probing 1/8 of them gives recall@10
    near 0.9 on sparse-data ALS factors and higher on text embeddings, at a few ms per query
    for 1M vectors (benchmarks/tools_latency.py measures it).
    """
    if n < 2:
        return 1, 1
    nlist = 2 ** round(math.log2(2 * math.sqrt(n)))
    nlist = max(1, min(nlist, n // 39))  # faiss wants >= 39 training points per list
    nprobe = min(nlist, max(8, nlist // 8))
    return nlist, nprobe


def auto_kind(n: int, d: int) -> IndexKind:
    """Exact ("flat") while one scan stays near 10 ms on a small CPU, else "ivf".

    1M x 64 item factors scan in ~9 ms on one core; 1M x 384 text embeddings take ~60 ms.
    """
    return "flat" if n * d <= _EXACT_MAX_CELLS else "ivf"


def _as_matrix(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"{name} must be a (n, d) matrix, got shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float32)


class VectorIndex:
    """A faiss index with inner-product metric; ids are row numbers of the built matrix."""

    def __init__(self, index: Any) -> None:
        import faiss

        # faiss's Python layer already returns the concrete class (also from read_index);
        # downcast_index would make a non-owning wrapper that dangles once ``index`` is freed
        self.index = index
        if self.index.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise ValueError("VectorIndex needs an inner-product faiss index")

    @classmethod
    def build(cls, vectors: np.ndarray, kind: IndexKind = "flat", *, nlist: int | None = None,
              nprobe: int | None = None, hnsw_m: int = 32, ef_construction: int = 64,
              ef_search: int = 128, seed: int = 0) -> VectorIndex:
        """Index the rows of ``vectors`` (n, d); "flat" is exact, "ivf"/"hnsw" approximate.

        Args:
            nlist, nprobe: IVF lists and lists probed per query (default from ``ivf_params``).
            hnsw_m, ef_construction, ef_search: HNSW graph degree and beam widths.
        """
        import faiss

        x = _as_matrix(vectors, "vectors")
        n, d = x.shape
        ip = faiss.METRIC_INNER_PRODUCT
        index: Any
        if kind == "flat":
            index = faiss.IndexFlatIP(d)
        elif kind == "ivf":
            auto_nlist, auto_nprobe = ivf_params(n)
            nlist = nlist or auto_nlist
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, ip)
            index.nprobe = min(nlist, nprobe or auto_nprobe)
            # k-means on a sample: 64 points per list is plenty and keeps 1M-row builds short
            rng = np.random.default_rng(seed)
            sample = x if n <= 64 * nlist else x[np.sort(rng.choice(n, 64 * nlist, False))]
            index.cp.seed = seed
            index.cp.niter = 12
            index.train(sample)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, hnsw_m, ip)
            index.hnsw.efConstruction = ef_construction
            index.hnsw.efSearch = ef_search
        else:
            raise ValueError(f"unknown index kind '{kind}'; valid: {', '.join(KINDS)}")
        index.add(x)
        return cls(index)

    @property
    def kind(self) -> str:
        import faiss

        if isinstance(self.index, faiss.IndexIVF):
            return "ivf"
        if isinstance(self.index, faiss.IndexHNSW):
            return "hnsw"
        return "flat"

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def d(self) -> int:
        """Same as ``dim``, named as faiss does (``attach_index`` checks it)."""
        return self.dim

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int, *, probe_share: float = 1.0
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` rows by inner product per query: (scores (B, k) float32, ids (B, k) int64).

        Best first, as faiss orders them; a missing result is id -1 with score -FLT_MAX.
        ``probe_share`` < 1 probes that share of an IVF index's usual lists (at least 8):
        a query that is itself an indexed row finds its neighbours in fewer lists.
        """
        q = _as_matrix(queries, "queries")
        if q.shape[1] != self.dim:
            raise ValueError(f"queries have dimension {q.shape[1]}, the index has {self.dim}")
        if k <= 0:
            return np.empty((len(q), 0), np.float32), np.empty((len(q), 0), np.int64)
        import faiss

        params = None
        if self.kind == "hnsw" and self.index.hnsw.efSearch < k:
            # HNSW returns at most efSearch results; widen the beam for large k
            params = faiss.SearchParametersHNSW(efSearch=k)  # type: ignore[attr-defined]
        elif self.kind == "ivf" and probe_share < 1.0:
            nprobe = max(8, round(self.index.nprobe * probe_share))
            params = faiss.SearchParametersIVF(nprobe=nprobe)  # type: ignore[attr-defined]
        if len(q) >= _PARALLEL_FROM:
            return self.index.search(q, k, params=params)
        # one query is faster on one thread: waking OpenMP workers on a small machine (whose
        # cores BLAS and torch threads also claim) costs more than the scan (9 vs 19 ms for
        # 1M x 64 on 2 cores); the setting is per calling thread, so restoring it is safe
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return self.index.search(q, k, params=params)
        finally:
            faiss.omp_set_num_threads(before)

    def save(self, path: str | Path) -> None:
        """Write the index atomically (temp file in the same folder, then ``os.replace``)."""
        import faiss

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            faiss.write_index(self.index, tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        """Read an index written by ``save``; a missing or corrupt file raises ModelError."""
        import faiss

        path = Path(path)
        if not path.is_file():
            raise ModelError(f"vector index file {path} does not exist")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:  # faiss reports truncated or foreign files this way
            raise ModelError(f"vector index file {path} is corrupt ({e}); "
                             "delete it to rebuild") from e
        try:
            return cls(index)
        except ValueError as e:
            raise ModelError(f"vector index file {path}: {e}") from e

    def __repr__(self) -> str:
        return f"VectorIndex(kind={self.kind!r}, n={len(self)}, dim={self.dim})"


# --- semantic search over item texts -------------------------------------------------------

_FORMAT = 2  # bump when the cache layout or the embedded text changes: old caches rebuild


def top_positions(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest scores, best first, ties by position (deterministic)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.empty(0, np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


SIMILAR_KEPT = 512  # items whose neighbours are kept (a few hundred KB)
# an item's text neighbours lie in few IVF lists: on the 1M-item benchmark catalog, probing
# an eighth of the usual lists finds as many of the true 100 neighbours as probing them all,
# in a tenth of the time (``benchmarks/turn_scale.py`` reports both recalls each run)
SIMILAR_PROBE_SHARE = 0.125
_SIMILAR_LOCK = threading.Lock()


@dataclass
class SemanticIndex:
    """Item text embeddings of one catalog (row = dense item index) and a vector index."""

    catalog: str
    fingerprint: str
    encoder: Encoder
    embeddings: np.ndarray  # (n_items, d) float32, unit rows
    index: VectorIndex
    path: Path | None = None
    lexical: LexicalIndex | None = None  # BM25 over the same texts, for hybrid search

    def __len__(self) -> int:
        return len(self.embeddings)

    def search(self, text: str, k: int = 10, *, candidates: Sequence[int] | None = None,
               exclude: Sequence[int] = ()) -> Ranked:
        """Items whose text is closest to ``text``, best first: by meaning (cosine) fused by
        reciprocal rank with the words they share (BM25) when the index has both; the
        scores are then fused ranks (higher is better), not cosines."""
        query = self.encoder.encode([text], progress=False)[0]
        if self.lexical is None:
            return self.search_vector(query, k, candidates=candidates, exclude=exclude)
        from recsys.lexical import fuse

        pool = max(k, 500)
        dense = self.search_vector(query, pool, candidates=candidates, exclude=exclude)
        lex = self.lexical.scores(text)
        excl = np.unique(np.asarray(exclude, dtype=np.int64))
        cand = None
        if candidates is not None:
            cand = np.unique(np.asarray(candidates, dtype=np.int64))
            cand = cand[~np.isin(cand, excl)]
        elif len(excl):
            lex = lex.copy()
            lex[excl] = 0.0
        ids, scores = fuse(dense.ids, lex, k, pool=pool, candidates=cand)
        return Ranked(ids, scores)

    def similar_items(self, item: int, k: int = 10) -> Ranked:
        """Items whose text is closest to that of ``item`` (the item itself left out).

        The last few answers are kept: a conversation "like X" asks for X's neighbours on
        every turn while X stays in the request (an IVF probe over 1M items costs ~20 ms)."""
        self._check_ids([item], "item")
        kept = self.__dict__.get("_similar")
        if kept is None:
            with _SIMILAR_LOCK:  # turns of several chats run in threads
                kept = self.__dict__.setdefault("_similar", Kept(SIMILAR_KEPT))
        hit = kept.get((int(item), int(k)), lambda: self.search_vector(
            self.embeddings[item], k, exclude=[item], probe_share=SIMILAR_PROBE_SHARE))
        return Ranked(hit.ids.copy(), hit.scores.copy())

    def search_vector(self, query: np.ndarray, k: int = 10, *,
                      candidates: Sequence[int] | None = None,
                      exclude: Sequence[int] = (), probe_share: float = 1.0) -> Ranked:
        """Like ``search`` for an already encoded query (d,); ``probe_share`` as in
        ``VectorIndex.search``."""
        if k <= 0:
            return Ranked.empty()
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        excl = np.unique(np.asarray(exclude, dtype=np.int64))
        if candidates is not None:
            # exact scores over the candidates: correct for any index kind and cheap, since
            # the candidate lists that filters and tools produce are far smaller than the catalog
            cand = np.unique(np.asarray(candidates, dtype=np.int64))
            self._check_ids(cand, "candidates")
            cand = cand[~np.isin(cand, excl)]
            scores = self.embeddings[cand] @ query
            best = top_positions(scores, k)
            return Ranked(cand[best].astype(np.int32), scores[best].astype(np.float32))
        # over-fetch by the number excluded, so k results remain after dropping them
        fetch = min(len(self), k + len(excl))
        scores, ids = self.index.search(query[None, :], fetch, probe_share=probe_share)
        keep = (ids[0] >= 0) & ~np.isin(ids[0], excl)
        ids_k, scores_k = ids[0][keep][:k], scores[0][keep][:k]
        return Ranked(ids_k.astype(np.int32), scores_k.astype(np.float32))

    def _check_ids(self, ids: Sequence[int] | np.ndarray, name: str) -> None:
        arr = np.asarray(ids)
        if len(arr) and (arr.min() < 0 or arr.max() >= len(self)):
            raise ValueError(f"{name} must be dense item indices in 0..{len(self) - 1}")


_MEMO: dict[str, SemanticIndex] = {}
_MEMO_LOCK = threading.Lock()


def clear_memory_cache() -> None:
    """Forget the semantic indexes held in this process (the disk cache stays)."""
    with _MEMO_LOCK:
        _MEMO.clear()


def semantic_index(catalog: Catalog, settings: Settings, *, encoder: Encoder | None = None,
                   progress: bool | None = None, kind: str = "auto") -> SemanticIndex:
    """The semantic index of ``catalog``: from memory, else the disk cache, else built and cached.

    The cache lives in ``indexes_dir/<catalog>/<encoder>-<fingerprint>/``; caches of other
    fingerprints of the catalog are removed, and an unreadable cache is rebuilt.
    """
    if encoder is None:
        from recsys.embeddings import get_encoder

        encoder = get_encoder(settings)
    root = settings.indexes_dir / catalog.name
    path = root / f"{encoder.name}-{catalog.fingerprint}"
    with _MEMO_LOCK:
        if (hit := _MEMO.get(str(path))) is not None and path.is_dir():
            return hit
    _remove_stale(root, catalog.fingerprint)
    sem = _load_cached(path, catalog, encoder)
    if sem is None:
        sem = _build(path, catalog, encoder, progress, kind)
    sem.lexical = _lexical(path, catalog)
    with _MEMO_LOCK:
        stale = [k for k in _MEMO if Path(k).parent == root
                 and not k.endswith(f"-{catalog.fingerprint}")]
        for key in stale:  # older versions of this catalog
            del _MEMO[key]
        _MEMO[str(path)] = sem
    return sem


def _lexical(path: Path, catalog: Catalog) -> LexicalIndex:
    """The BM25 index of the same texts, cached beside the embeddings (rebuilt if unreadable;
    ~1 s for 10k items)."""
    from recsys.lexical import LexicalIndex

    file = path / "lexical.npz"
    if file.is_file():
        try:
            lex = LexicalIndex.load(str(file))
            if lex.weights.shape[0] == catalog.n_items:
                return lex
        except (OSError, ValueError):
            pass
    # without titles: a wish for "a rainy Sunday" is not a wish for "Bloody Sunday"
    lex = LexicalIndex.build([catalog.describe(i, title=False)
                              for i in range(catalog.n_items)])
    try:
        tmp = path / ".lexical.npz"
        lex.save(str(tmp))
        os.replace(tmp, file)
        os.replace(str(tmp) + ".vocab.npy", str(file) + ".vocab.npy")
    except OSError:
        pass  # a read-only cache: kept in memory only
    return lex


def _remove_stale(root: Path, fingerprint: str) -> None:
    if not root.is_dir():
        return
    for d in root.iterdir():
        if not d.is_dir():
            continue
        if d.name.startswith("."):
            # a build in progress in another process, or one that crashed long ago
            if time.time() - d.stat().st_mtime > 3600:
                shutil.rmtree(d, ignore_errors=True)
        elif not d.name.endswith(f"-{fingerprint}"):
            shutil.rmtree(d, ignore_errors=True)


def _load_cached(path: Path, catalog: Catalog, encoder: Encoder) -> SemanticIndex | None:
    """The cached index at ``path`` if every file is there and consistent, else None."""
    try:
        meta = json.loads((path / "meta.json").read_text())
        # read into memory, not mmap: a file changed in place under a map crashes the process
        emb = np.load(path / "embeddings.npy", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    n = catalog.n_items
    if (not isinstance(meta, dict) or meta.get("format") != _FORMAT
            or meta.get("fingerprint") != catalog.fingerprint
            or meta.get("encoder") != encoder.name or meta.get("n_items") != n
            or emb.dtype != np.float32 or emb.ndim != 2 or emb.shape[0] != n
            or emb.shape[1] != meta.get("dim")):
        return None
    try:
        index = VectorIndex.load(path / "index.faiss")
        if len(index) != n or index.dim != emb.shape[1]:
            raise ModelError("index does not match the embeddings")
    except ModelError:
        # the expensive part (the embeddings) is fine: rebuild only the index
        index = VectorIndex.build(emb, meta.get("kind", "flat"))
        index.save(path / "index.faiss")
    return SemanticIndex(catalog.name, catalog.fingerprint, encoder, emb, index, path)


def _build(path: Path, catalog: Catalog, encoder: Encoder, progress: bool | None,
           kind: str) -> SemanticIndex:
    # meaning without names: cast lists dilute what a film is about ("space horror" finds
    # Alien 6th of 1,751 horror and sci-fi films without them, 22nd with); names are
    # matched by words (BM25) and filters
    texts = [catalog.describe(i, people=False) for i in range(catalog.n_items)]
    emb = encoder.encode(texts, progress=progress)
    if emb.ndim != 2 or len(emb) != catalog.n_items:
        raise ModelError(f"encoder {encoder.name} returned shape {emb.shape} "
                         f"for {catalog.n_items} texts")
    chosen = auto_kind(*emb.shape) if kind == "auto" else kind
    index = VectorIndex.build(emb, chosen)  # type: ignore[arg-type]
    meta = {"format": _FORMAT, "catalog": catalog.name, "fingerprint": catalog.fingerprint,
            "encoder": encoder.name, "dim": int(emb.shape[1]), "n_items": catalog.n_items,
            "kind": index.kind}
    # write everything into a private folder, then move it in place in one rename, so a
    # reader never sees half a cache and concurrent builders do not mix files
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        np.save(tmp / "embeddings.npy", emb)
        index.save(tmp / "index.faiss")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        if path.exists():  # a corrupt or mismatched cache
            shutil.rmtree(path, ignore_errors=True)
        # OSError: another process finished first; its cache is as good as ours
        with contextlib.suppress(OSError):
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return SemanticIndex(catalog.name, catalog.fingerprint, encoder, emb, index, path)
