"""Vector indexes against numpy brute force; the semantic index and its disk cache."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from recsys.catalog import Catalog
from recsys.embeddings import HashingEncoder
from recsys.errors import ModelError
from recsys.index import (
    SemanticIndex,
    VectorIndex,
    auto_kind,
    clear_memory_cache,
    ivf_params,
    semantic_index,
)
from recsys.settings import Settings


def clustered(n: int = 4000, d: int = 32, centers: int = 40, seed: int = 0) -> np.ndarray:
    """Points around random centres, like embeddings and item factors (not uniform noise)."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centers, d)) * 3
    return (c[rng.integers(0, centers, n)] + rng.standard_normal((n, d))).astype(np.float32)


def brute_force(x: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    s = q @ x.T
    ids = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(s, ids, axis=1), ids


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact,
                                                                         strict=True)]))


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    x = clustered()
    q = clustered(50, seed=1)
    return x, q


def test_flat_is_exact(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, q = data
    index = VectorIndex.build(x, "flat")
    scores, ids = index.search(q, 10)
    ref_scores, ref_ids = brute_force(x, q, 10)
    assert ids.shape == (50, 10) and ids.dtype == np.int64 and scores.dtype == np.float32
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-4, atol=1e-3)
    assert recall(ids, ref_ids) == 1.0
    assert index.kind == "flat" and len(index) == len(x) and index.dim == index.d == 32


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_kinds_find_the_true_neighbours(
        data: tuple[np.ndarray, np.ndarray], kind: str) -> None:
    x, q = data
    index = VectorIndex.build(x, kind)  # type: ignore[arg-type]
    scores, ids = index.search(q, 10)
    _, ref_ids = brute_force(x, q, 10)
    assert index.kind == kind
    assert recall(ids, ref_ids) >= 0.9
    # scores are the true inner products of the returned rows, best first
    np.testing.assert_allclose(scores, np.einsum("bd,bkd->bk", q, x[ids]), rtol=1e-4, atol=1e-3)
    assert (np.diff(scores, axis=1) <= 1e-5).all()


def test_ivf_probing_every_list_is_exact(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, q = data
    nlist, _ = ivf_params(len(x))
    index = VectorIndex.build(x, "ivf", nprobe=nlist)
    assert recall(index.search(q, 10)[1], brute_force(x, q, 10)[1]) == 1.0


def test_ivf_probing_fewer_lists_for_an_indexed_row(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = data
    nlist, _ = ivf_params(len(x))
    index = VectorIndex.build(x, "ivf", nprobe=nlist)
    rows = x[:50]
    exact = brute_force(x, rows, 10)[1]
    assert recall(index.search(rows, 10, probe_share=1.0)[1], exact) == 1.0
    few = index.search(rows, 10, probe_share=8 / nlist)[1]  # 8 lists: the floor
    assert recall(few, exact) >= 0.8


def test_ivf_params_scale_with_size() -> None:
    assert ivf_params(1) == (1, 1)
    nlist, nprobe = ivf_params(1_000_000)
    assert 1024 <= nlist <= 4096 and nlist // 32 <= nprobe <= nlist // 8
    for n in (10, 100, 5000, 100_000):
        nlist, nprobe = ivf_params(n)
        assert 1 <= nprobe <= nlist and (nlist == 1 or n // nlist >= 39)
    # exact while a scan is cheap: 1M item factors yes, 1M text embeddings no
    assert auto_kind(1_000_000, 64) == "flat" and auto_kind(1_000_000, 384) == "ivf"


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_missing_results_are_minus_one(kind: str) -> None:
    x = clustered(100, 8)
    index = VectorIndex.build(x, kind)  # type: ignore[arg-type]
    scores, ids = index.search(x[0], 150)  # a single (d,) query is one row
    assert ids.shape == (1, 150)
    assert (ids[0, 100:] == -1).all() and (ids[0, :100] >= 0).all()
    assert sorted(ids[0, :100].tolist()) == list(range(100)) or kind != "flat"


def test_bad_arguments() -> None:
    x = clustered(100, 8)
    with pytest.raises(ValueError, match="unknown index kind 'lsh'.*flat, ivf, hnsw"):
        VectorIndex.build(x, "lsh")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dimension 4"):
        VectorIndex.build(x).search(np.ones((1, 4), np.float32), 3)
    assert VectorIndex.build(x).search(x[:2], 0)[1].shape == (2, 0)


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_save_load_roundtrip(tmp_path: Path, data: tuple[np.ndarray, np.ndarray],
                             kind: str) -> None:
    x, q = data
    index = VectorIndex.build(x, kind, nprobe=5)  # type: ignore[arg-type]
    path = tmp_path / "sub" / "items.faiss"
    index.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["items.faiss"]  # no temp file left
    again = VectorIndex.load(path)
    assert again.kind == kind and len(again) == len(x)
    if kind == "ivf":
        assert again.index.nprobe == 5
    for a, b in zip(index.search(q, 10), again.search(q, 10), strict=True):
        np.testing.assert_array_equal(a, b)


def test_load_corrupt_or_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        VectorIndex.load(tmp_path / "nope.faiss")
    bad = tmp_path / "bad.faiss"
    bad.write_bytes(b"not a faiss index at all")
    with pytest.raises(ModelError, match="corrupt"):
        VectorIndex.load(bad)


def test_mf_model_recommends_the_same_through_the_index(tiny_catalog: Catalog) -> None:
    from recsys.models import create
    from recsys.models.mf import MFRecommender

    model = create("als", factors=8, iterations=3).fit(tiny_catalog.interactions)
    assert isinstance(model, MFRecommender)
    plain = [model.recommend(u, 5) for u in range(10)]
    model.attach_index(VectorIndex.build(model.item_factors, "flat"))
    for u, ref in enumerate(plain):
        got = model.recommend(u, 5)
        np.testing.assert_array_equal(got.ids, ref.ids)


# --- SemanticIndex ---------------------------------------------------------------------------


class CountingEncoder(HashingEncoder):
    """A hashing encoder that counts how many texts it encoded."""

    def __init__(self) -> None:
        super().__init__(32)
        self.calls = 0

    def encode(self, texts: list[str], **kw) -> np.ndarray:  # type: ignore[override]
        self.calls += len(texts)
        return super().encode(texts, **kw)


def test_semantic_index_is_cached_on_disk(tiny_catalog: Catalog, settings: Settings) -> None:
    enc = CountingEncoder()
    first = semantic_index(tiny_catalog, settings, encoder=enc, progress=False)
    assert enc.calls == tiny_catalog.n_items
    name = f"hashing-32-{tiny_catalog.fingerprint}"
    assert first.path == settings.indexes_dir / "synthetic" / name
    assert sorted(p.name for p in first.path.iterdir()) == [
        "embeddings.npy", "index.faiss", "lexical.npz", "lexical.npz.vocab.npy", "meta.json"]
    assert semantic_index(tiny_catalog, settings, encoder=enc) is first  # same process
    clear_memory_cache()
    second = semantic_index(tiny_catalog, settings, encoder=enc)  # from disk
    assert enc.calls == tiny_catalog.n_items  # nothing re-encoded
    np.testing.assert_array_equal(second.embeddings, first.embeddings)
    assert second.search("genre: Action").ids.tolist() == first.search("genre: Action").ids.tolist()


def test_semantic_index_rebuilt_when_fingerprint_changes(tiny_catalog: Catalog,
                                                         settings: Settings) -> None:
    enc = CountingEncoder()
    old = semantic_index(tiny_catalog, settings, encoder=enc, progress=False)
    changed = dataclasses.replace(tiny_catalog, fingerprint="f" * 16,
                                  titles=[f"Renamed {t}" for t in tiny_catalog.titles])
    new = semantic_index(changed, settings, encoder=enc, progress=False)
    assert enc.calls == 2 * tiny_catalog.n_items
    assert new.path != old.path and new.path is not None and new.path.is_dir()
    assert old.path is not None and not old.path.exists()  # the stale cache is gone
    assert new.fingerprint == "f" * 16


@pytest.mark.parametrize("damage", ["meta.json", "embeddings.npy", "index.faiss"])
def test_corrupt_cache_is_rebuilt(tiny_catalog: Catalog, settings: Settings,
                                  damage: str) -> None:
    enc = CountingEncoder()
    ref = semantic_index(tiny_catalog, settings, encoder=enc, progress=False)
    assert ref.path is not None
    (ref.path / damage).write_bytes(b"\x00garbage")
    clear_memory_cache()
    again = semantic_index(tiny_catalog, settings, encoder=enc, progress=False)
    # a broken index file is rebuilt from the stored embeddings, without re-encoding
    assert enc.calls == tiny_catalog.n_items * (1 if damage == "index.faiss" else 2)
    np.testing.assert_allclose(again.embeddings, ref.embeddings)
    query = "genre: Comedy. tag: tag03"
    assert again.search(query).ids.tolist() == ref.search(query).ids.tolist()
    before = enc.calls
    clear_memory_cache()
    semantic_index(tiny_catalog, settings, encoder=enc, progress=False)  # now healthy
    assert enc.calls == before


def test_mismatched_meta_is_rebuilt(tiny_catalog: Catalog, settings: Settings) -> None:
    enc = CountingEncoder()
    ref = semantic_index(tiny_catalog, settings, encoder=enc, progress=False)
    assert ref.path is not None
    meta = json.loads((ref.path / "meta.json").read_text())
    (ref.path / "meta.json").write_text(json.dumps({**meta, "n_items": 3}))
    clear_memory_cache()
    semantic_index(tiny_catalog, settings, encoder=enc, progress=False)
    assert enc.calls == 2 * tiny_catalog.n_items


@pytest.fixture
def sem(tiny_catalog: Catalog, settings: Settings) -> SemanticIndex:
    return semantic_index(tiny_catalog, settings, encoder=HashingEncoder(64), progress=False)


def test_search_matches_brute_force(sem: SemanticIndex, tiny_catalog: Catalog) -> None:
    q = sem.encoder.encode(["genre: Horror. tag: tag05"])[0]
    res = sem.search_vector(q, k=8)  # the dense part alone
    exact = np.asarray(sem.embeddings) @ q
    assert res.ids.dtype == np.int32 and res.scores.dtype == np.float32 and len(res) == 8
    np.testing.assert_allclose(res.scores, np.sort(exact)[::-1][:8], rtol=1e-5, atol=1e-6)
    # meaning and words fused: the hashed words and the word "horror" find the genre
    hybrid = sem.search("genre: Horror. tag: tag05", k=8)
    assert sem.lexical is not None and len(hybrid) == 8
    assert np.all(np.diff(hybrid.scores) <= 0)
    horror = set(tiny_catalog.attributes["genre"].items_with("Horror").tolist())
    assert sum(i in horror for i in hybrid.ids) >= 6


def test_candidates_and_exclude(sem: SemanticIndex) -> None:
    cands = [5, 9, 13, 17, 21, 40, 41]
    res = sem.search("genre: Horror", k=4, candidates=cands, exclude=[13, 50])
    assert len(res) == 4 and set(res.ids) <= set(cands) - {13}
    q = sem.encoder.encode(["genre: Horror"])[0]
    dense = sem.search_vector(q, k=4, candidates=cands, exclude=[13, 50])
    allowed = np.array([5, 9, 17, 21, 40, 41])
    s = np.asarray(sem.embeddings)[allowed] @ q
    assert dense.ids.tolist() == allowed[np.lexsort((allowed, -s))][:4].tolist()
    # more asked than allowed: all of them
    assert sorted(sem.search("x", k=50, candidates=cands, exclude=[13]).ids) == [
        5, 9, 17, 21, 40, 41]
    top = sem.search("genre: Horror", k=5).ids.tolist()
    res = sem.search("genre: Horror", k=5, exclude=top[:3])
    assert not set(res.ids) & set(top[:3]) and len(res) == 5
    assert len(sem.search("x", k=0)) == 0
    assert len(sem.search("x", candidates=[])) == 0
    with pytest.raises(ValueError, match="candidates"):
        sem.search("x", candidates=[1, 60])


def test_similar_items_leaves_the_item_out(sem: SemanticIndex) -> None:
    res = sem.similar_items(7, 5)
    assert 7 not in res.ids and len(res) == 5


@pytest.mark.slow
def test_real_model_finds_the_space_horror(tmp_path: Path, settings: Settings) -> None:
    from recsys.embeddings import SentenceTransformerEncoder

    texts = {
        "Alien (1979)": "Alien (1979). genre: Horror, Sci-Fi. Terror in space: a woman fights "
                        "a monster aboard a dark spaceship.",
        "Notting Hill (1999)": "Notting Hill (1999). genre: Comedy, Romance. A London "
                               "bookseller falls for a famous film star.",
        "Finding Nemo (2003)": "Finding Nemo (2003). genre: Animation, Children. A clownfish "
                               "crosses the ocean to find his son.",
        "Heat (1995)": "Heat (1995). genre: Action, Crime. A detective chases a crew of "
                       "professional bank robbers through Los Angeles.",
        "The Shining (1980)": "The Shining (1980). genre: Horror. A writer slowly goes mad "
                              "in an isolated snowbound hotel.",
        "Apollo 13 (1995)": "Apollo 13 (1995). genre: Drama, IMAX. Astronauts survive a "
                            "failed moon mission and return to Earth.",
    }
    cat = Catalog(name="handwritten", fingerprint="hand1", item_ids=[str(i) for i in range(6)],
                  titles=list(texts), years=np.zeros(6, np.int32), texts=list(texts.values()),
                  attributes={}, user_ids=[], interactions=_no_interactions(6))
    sem = semantic_index(cat, settings, encoder=SentenceTransformerEncoder(), progress=False)
    res = sem.search("dark space horror with a strong heroine", k=3)
    assert cat.titles[res.ids[0]] == "Alien (1979)"
    assert res.scores[0] > res.scores[1]


def _no_interactions(n_items: int):  # type: ignore[no-untyped-def]
    from recsys.catalog import Interactions

    return Interactions(np.empty(0, np.int32), np.empty(0, np.int32), 0, n_items)
