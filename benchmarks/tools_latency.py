"""Latency of the recommender tools without an LLM: recommend, semantic search, hard filters.

Each tool runs next to a brute-force numpy baseline over the same queries in one process;
one JSON object goes to stdout, progress to stderr.

    python benchmarks/tools_latency.py                       # demo catalog (movielens-small)
    python benchmarks/tools_latency.py --synthetic           # 10k-item synthetic catalog
    python benchmarks/tools_latency.py --items 1000000 --users 100000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from recsys.catalog import YEAR_UNKNOWN, Catalog  # noqa: E402
from recsys.filters import filter_items  # noqa: E402
from recsys.index import VectorIndex, auto_kind, top_positions  # noqa: E402

_T0 = time.perf_counter()
QUERIES = ["dark space horror with a strong heroine", "feel-good romantic comedy in Paris",
           "animated movie for kids about toys", "gritty crime thriller with a heist",
           "mind-bending science fiction about dreams", "world war two drama",
           "superhero action with lots of explosions", "quiet documentary about nature",
           "coming of age story in high school", "musical with great songs"]


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def timed(fn: Callable[[Any], Any], args: list[Any], warmup: int = 3) -> tuple[dict, list]:
    """Run ``fn`` on each argument; p50/p95/mean milliseconds and the results.

    Baseline and project run alike on one BLAS/OpenMP thread per request, as a server on a
    small machine would: several thread pools (numpy's, scipy's and faiss's OpenBLAS, two
    OpenMP runtimes, torch) spinning on 2 busy cores made single-query times swing 10-50x.
    """
    from threadpoolctl import threadpool_limits

    ms, out = [], []
    with threadpool_limits(limits=1):
        for a in args[:warmup]:
            fn(a)
        for a in args:
            t = time.perf_counter()
            out.append(fn(a))
            ms.append((time.perf_counter() - t) * 1000)
    arr = np.array(ms)
    return {"p50": round(float(np.percentile(arr, 50)), 3),
            "p95": round(float(np.percentile(arr, 95)), 3),
            "mean": round(float(arr.mean()), 3)}, out


def recall_at(found: list[np.ndarray], exact: list[np.ndarray],
              score: Callable[[int, np.ndarray], np.ndarray]) -> float:
    """Mean share of the exact top-k that was found, counting score ties as hits.

    Items with identical vectors (e.g. items seen by the same single user) tie exactly; any
    of them is a correct answer, so a found item counts when its exact score reaches the
    k-th best exact score.
    """
    hits = []
    for i, (f, e) in enumerate(zip(found, exact, strict=True)):
        if not len(e):
            continue
        kth = score(i, e).min()
        s = score(i, np.asarray(f[:len(e)], dtype=np.int64))
        hits.append(min(1.0, float((s >= kth - 1e-6 * abs(kth)).sum()) / len(e)))
    return round(float(np.mean(hits)), 4)


# --- recommend -----------------------------------------------------------------------------


def bench_recommend(cat: Catalog, args: argparse.Namespace, out: dict) -> Any:
    from recsys.models import create
    from recsys.models.mf import MFRecommender

    log(f"training ALS (factors={args.factors}, iterations={args.iterations})")
    t = time.perf_counter()
    model = create("als", factors=args.factors, iterations=args.iterations).fit(
        cat.interactions, progress=False)
    assert isinstance(model, MFRecommender)
    out["train_s"] = round(time.perf_counter() - t, 2)
    seen = model.seen
    users_with_history = np.flatnonzero(np.diff(seen.indptr) > 0)
    rng = np.random.default_rng(args.seed)
    users = rng.choice(users_with_history, min(args.queries, len(users_with_history)),
                       replace=False).tolist()
    uf, itf = model.user_factors, model.item_factors

    def baseline(u: int) -> np.ndarray:
        scores = itf @ uf[u]
        scores[seen.indices[seen.indptr[u]:seen.indptr[u + 1]]] = -np.inf
        return top_positions(scores, 10)

    def score(i: int, ids: np.ndarray) -> np.ndarray:
        return itf[ids] @ uf[users[i]]

    log("recommend: numpy brute force")
    out["baseline_recommend_ms"], exact = timed(baseline, users)
    log("recommend: model, exact scoring (no index)")
    out["model_exact_recommend_ms"], _ = timed(lambda u: model.recommend(u, 10).ids, users)
    kind0 = auto_kind(*itf.shape) if args.index_kind == "auto" else args.index_kind
    # the other kind for comparison: the exact faiss scan, or the approximate IVF
    kinds = [kind0, "ivf" if kind0 == "flat" else "flat"]
    for i, kind in enumerate(kinds):
        t = time.perf_counter()
        index = VectorIndex.build(itf, kind)  # type: ignore[arg-type]
        build_s = round(time.perf_counter() - t, 2)
        model.attach_index(index)
        log(f"recommend: through the {kind} index (built in {build_s}s)")
        lat, found = timed(lambda u: model.recommend(u, 10).ids, users)
        rec = recall_at(found, exact, score)
        if i == 0:
            out.update({"recommend_ms": lat, "recommend_index": _describe(index),
                        "recommend_index_build_s": build_s, "recommend_recall_at_10": rec})
        else:
            out[f"recommend_{kind}_ms"] = lat
            out[f"recommend_{kind}_recall_at_10"] = rec
            out[f"recommend_{kind}_build_s"] = build_s
    model.attach_index(None)
    return model


def bench_conversation_rank(cat: Catalog, model: Any, args: argparse.Namespace,
                            out: dict) -> None:
    """rank_items for a conversation: 3 mentioned titles (one pushed away), one "like X" and
    a wished genre, through ``SessionRanker`` (factor cosines when the catalog has no
    item-kNN, as at 1M), beside the popularity top-50 a newcomer got before."""
    import resource

    from recsys.models.base import top_k
    from recsys.session import SessionRanker

    pop = np.bincount(cat.interactions.items, minlength=cat.n_items).astype(np.float32)
    t = time.perf_counter()
    ranker = SessionRanker(None, pop, factors=model.item_factors)
    out["conversation_ranker_build_s"] = round(time.perf_counter() - t, 2)
    rng = np.random.default_rng(args.seed + 1)
    genre = next(iter(cat.attributes.values()))
    masks = []
    for j in rng.integers(0, len(genre.values), 4):
        m = np.zeros(cat.n_items, np.float32)
        m[genre.items_with(genre.values[int(j)])] = 1.0
        masks.append(m)
    queries = [(rng.integers(0, cat.n_items, 4), int(k)) for k in range(args.queries)]
    all_ids = np.arange(cat.n_items)

    def conversation(q: tuple[np.ndarray, int]) -> np.ndarray:
        seeds = {int(q[0][0]): 1.0, int(q[0][1]): 1.0, int(q[0][2]): -1.0}
        scores = ranker.scores(seeds, [masks[q[1] % len(masks)]], request=[int(q[0][3])])
        return top_k(all_ids, scores, 50).ids

    def popularity(q: tuple[np.ndarray, int]) -> np.ndarray:
        return top_positions(pop.copy(), 50)

    log("conversation rank: popularity top-50 (baseline)")
    out["baseline_popularity_rank_ms"], _ = timed(popularity, queries)
    log("conversation rank: seeds, request and a wished genre")
    out["conversation_rank_ms"], _ = timed(conversation, queries)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _describe(index: VectorIndex) -> dict:
    d: dict[str, Any] = {"kind": index.kind, "n": len(index), "dim": index.dim}
    if index.kind == "ivf":
        d.update(nlist=int(index.index.nlist), nprobe=int(index.index.nprobe))
    elif index.kind == "hnsw":
        d.update(M=int(index.index.hnsw.nb_neighbors(1)), ef_search=int(index.index.hnsw.efSearch))
    return d


# --- semantic search -----------------------------------------------------------------------


def bench_search_text(cat: Catalog, settings: Any, args: argparse.Namespace, out: dict) -> None:
    """The real path: MiniLM item embeddings (cached on disk) and encoded queries."""
    from recsys.embeddings import get_encoder
    from recsys.index import semantic_index

    encoder = get_encoder(settings)
    log(f"semantic index of {cat.n_items} items with {encoder.name} (cached after the first run)")
    t = time.perf_counter()
    sem = semantic_index(cat, settings, encoder=encoder, progress=None)
    out["search_index_s"] = round(time.perf_counter() - t, 2)
    out["search_vectors"] = f"{encoder.name} item texts ({sem.embeddings.shape[1]}d)"
    out["search_index"] = _describe(sem.index)
    texts = [QUERIES[i % len(QUERIES)] for i in range(args.queries)]
    emb = np.asarray(sem.embeddings)

    def baseline(text: str) -> np.ndarray:
        q = encoder.encode([text], progress=False)[0]
        return top_positions(emb @ q, 10)

    log("search: numpy brute force (encode + dot products)")
    out["baseline_search_ms"], exact = timed(baseline, texts)
    log("search: SemanticIndex.search")
    out["search_ms"], found = timed(lambda s: sem.search(s, 10).ids, texts)
    queries = encoder.encode(texts, progress=False)

    def score(i: int, ids: np.ndarray) -> np.ndarray:
        return emb[ids] @ queries[i]

    out["search_recall_at_10"] = recall_at(found, exact, score)
    out["query_encode_ms"], _ = timed(lambda s: encoder.encode([s], progress=False), texts)
    # how an IVF index would do on these real embeddings (the 1M run can only use random ones)
    ivf = VectorIndex.build(emb, "ivf")
    _, ivf_ids = ivf.search(queries, 10)
    out["search_ivf_on_real_embeddings"] = {**_describe(ivf),
                                            "recall_at_10": recall_at(list(ivf_ids), exact,
                                                                      score)}


def bench_search_vectors(n: int, args: argparse.Namespace, out: dict) -> None:
    """At scale: random unit vectors stand in for item embeddings (embedding 1M texts with
    MiniLM takes hours on 2 cores); queries are random unit vectors too."""
    d = 384
    log(f"search: {n} random unit vectors of {d}d")
    rng = np.random.default_rng(args.seed + 1)
    x = np.empty((n, d), np.float32)
    for s in range(0, n, 100_000):  # in chunks: one float64 draw of 1M x 384 is 3 GB
        block = rng.standard_normal((min(100_000, n - s), d), dtype=np.float32)
        x[s:s + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    q = rng.standard_normal((args.queries, d), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    kind = auto_kind(n, d) if args.index_kind == "auto" else args.index_kind
    t = time.perf_counter()
    index = VectorIndex.build(x, kind)  # type: ignore[arg-type]
    out["search_index_s"] = round(time.perf_counter() - t, 2)
    out["search_vectors"] = f"random-{d}d"
    out["search_index"] = _describe(index)
    log(f"search: {kind} index built in {out['search_index_s']}s; numpy brute force")
    out["baseline_search_ms"], exact = timed(lambda v: top_positions(x @ v, 10), list(q))
    log("search: faiss index")
    out["search_ms"], found = timed(lambda v: index.search(v[None, :], 10)[1][0], list(q))

    def score(i: int, ids: np.ndarray) -> np.ndarray:
        return x[ids] @ q[i]

    out["search_recall_at_10"] = recall_at(found, exact, score)
    if kind == "ivf":
        # uniform random vectors have no clusters, the worst case for IVF: show the trade-off
        nlist = int(index.index.nlist)
        sweep = {}
        default = int(index.index.nprobe)
        for nprobe in sorted({nlist // 16, default, nlist // 4}):
            index.index.nprobe = nprobe
            lat, f = timed(lambda v: index.search(v[None, :], 10)[1][0], list(q[:50]))
            sweep[str(nprobe)] = {"p50": lat["p50"], "p95": lat["p95"],
                                  "recall_at_10": recall_at(f, exact[:50], score)}
        out["search_nprobe_sweep"] = sweep
        index.index.nprobe = default


def bench_query_encoding(args: argparse.Namespace, out: dict) -> None:
    from recsys.embeddings import SentenceTransformerEncoder

    log("MiniLM query encoding")
    enc = SentenceTransformerEncoder()
    t = time.perf_counter()
    enc.encode(["warm up"], progress=False)
    out["query_encoder_load_s"] = round(time.perf_counter() - t, 2)
    texts = [QUERIES[i % len(QUERIES)] for i in range(min(args.queries, 100))]
    out["query_encode_ms"], _ = timed(lambda s: enc.encode([s], progress=False), texts)


# --- filters -------------------------------------------------------------------------------


def filter_queries(cat: Catalog, n: int, seed: int) -> list[dict]:
    """Tool-like hard filters with values drawn by frequency (so most return something)."""
    rng = np.random.default_rng(seed + 2)
    genre, tag = cat.attributes["genre"], cat.attributes.get("tag")
    gfreq = np.asarray(genre.matrix.getnnz(axis=0), float)
    tvals = []
    if tag is not None:
        tfreq = tag.matrix.getnnz(axis=0)
        tvals = [tag.values[j] for j in np.argsort(-tfreq, kind="stable")[:200]]
    known = cat.years[cat.years != YEAR_UNKNOWN]
    lo, hi = (int(known.min()), int(known.max())) if len(known) else (1900, 2020)

    def g(k: int) -> list[str]:
        idx = rng.choice(len(genre.values), k, replace=False, p=gfreq / gfreq.sum())
        return [genre.values[i] for i in idx]

    def t(k: int) -> list[str]:
        return [str(v) for v in rng.choice(tvals, k, replace=False)] if tvals else []

    def year() -> int:
        return int(rng.integers(lo, hi + 1))

    out: list[dict] = []
    for i in range(n):
        kind = i % 6
        if kind == 0:
            q: dict = {"include": {"genre": g(1)}}
        elif kind == 1:
            y = year()
            q = {"include": {"genre": g(2)}, "year_min": y, "year_max": y + 10}
        elif kind == 2:
            q = {"include": {"genre": g(1), "tag": t(3)} if tvals else {"genre": g(1)}}
        elif kind == 3:
            q = {"exclude": {"genre": g(2)}, "year_min": year(), "limit": 100}
        elif kind == 4:
            q = {"include": {"tag": t(1)} if tvals else {"genre": g(1)},
                 "exclude": {"genre": g(1)}}
        else:
            q = {"include": {"genre": g(1)},
                 "within": np.sort(rng.choice(cat.n_items, min(500, cat.n_items),
                                              replace=False)).tolist(),
                 "exclude_items": rng.choice(cat.n_items, 20).tolist()}
        out.append(q)
    return out


def numpy_filter(cat: Catalog, csc: dict, q: dict) -> np.ndarray:
    """The same semantics as ``filter_items`` as boolean masks over the attribute matrices."""
    keep = np.ones(cat.n_items, dtype=bool)

    def has(fld: str, vals: list[str]) -> np.ndarray:
        a, m = cat.attributes[fld], csc[fld]
        cols = [a.value_index[v] for v in vals if v in a.value_index]
        mask = np.zeros(cat.n_items, dtype=bool)
        for j in cols:
            mask[m.indices[m.indptr[j]:m.indptr[j + 1]]] = True
        return mask

    for fld, vals in q.get("include", {}).items():
        keep &= has(fld, vals)
    for fld, vals in q.get("exclude", {}).items():
        keep &= ~has(fld, vals)
    if "year_min" in q or "year_max" in q:
        y = cat.years
        keep &= (y != YEAR_UNKNOWN) & (y >= q.get("year_min", -10**9)) & (
            y <= q.get("year_max", 10**9))
    if "within" in q:
        w = np.zeros(cat.n_items, dtype=bool)
        w[q["within"]] = True
        keep &= w
    keep[q.get("exclude_items", [])] = False
    ids = np.flatnonzero(keep)
    return ids[:q["limit"]] if "limit" in q else ids


def bench_filter(cat: Catalog, engine: Any, args: argparse.Namespace, out: dict) -> None:
    qs = filter_queries(cat, args.queries, args.seed)
    csc = {name: a.matrix.tocsc() for name, a in cat.attributes.items()}  # the baseline's index
    log(f"filter: numpy masks over {len(qs)} queries")
    out["baseline_filter_ms"], ref = timed(lambda q: numpy_filter(cat, csc, q), qs)
    log("filter: SQL (filter_items)")
    out["filter_ms"], got = timed(lambda q: filter_items(engine, cat.name, **q), qs)
    out["filter_agree"] = all(np.array_equal(a, b) for a, b in zip(got, ref, strict=True))
    out["filter_result_size_p50"] = int(np.median([len(r) for r in ref]))


# --- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, help="synthetic catalog with this many items")
    p.add_argument("--users", type=int, help="synthetic users (default items // 10)")
    p.add_argument("--synthetic", action="store_true", help="a 10k-item synthetic catalog")
    p.add_argument("--catalog", default="movielens-small", help="demo catalog name")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--factors", type=int, default=64)
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--index-kind", default="auto", choices=["auto", "flat", "ivf", "hnsw"])
    p.add_argument("--no-encoder", action="store_true", help="skip MiniLM (synthetic only)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from recsys.db import get_engine
    from recsys.settings import get_settings

    out: dict[str, Any] = {}
    synthetic = args.synthetic or args.items is not None
    with tempfile.TemporaryDirectory(prefix="tastebud-bench-") as tmp:
        t = time.perf_counter()
        if synthetic:
            from recsys.store import save_catalog
            from recsys.synthetic import make_catalog

            n_items = args.items or 10_000
            n_users = args.users or max(100, n_items // 10)
            log(f"synthetic catalog: {n_items} items, {n_users} users")
            cat = make_catalog(n_users, n_items, per_user=20, n_genres=50, n_tags=2000,
                               seed=args.seed, name=f"synthetic-{n_items}")
            out["catalog_s"] = round(time.perf_counter() - t, 2)
            engine = get_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            t = time.perf_counter()
            log("storing it in SQLite (for the filters)")
            save_catalog(engine, cat, progress=False)
            out["store_s"] = round(time.perf_counter() - t, 2)
        else:
            from recsys.catalogs import open_catalog

            settings = get_settings()
            log(f"opening {args.catalog}")
            cat = open_catalog(args.catalog, settings, progress=False)
            engine = get_engine(settings.database_url)
            out["catalog_s"] = round(time.perf_counter() - t, 2)
        out = {"catalog": cat.name, "items": cat.n_items, "users": cat.n_users,
               "interactions": len(cat.interactions),
               "machine": {"cores": os.cpu_count(), "gpu": False,
                           "load_avg_1m": round(os.getloadavg()[0], 2)},
               "threads_per_query": 1, **out}
        model = bench_recommend(cat, args, out)
        bench_conversation_rank(cat, model, args, out)
        if synthetic:
            bench_search_vectors(cat.n_items, args, out)
            if not args.no_encoder:
                bench_query_encoding(args, out)
        else:
            bench_search_text(cat, settings, args, out)
        bench_filter(cat, engine, args, out)
        engine.dispose()
    out["total_s"] = round(time.perf_counter() - _T0, 1)
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
