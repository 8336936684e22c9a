"""A whole tools-only chat turn at scale: the dialogue manager without an LLM (understand,
dialogue acts, state update, filter, search, rank, ask, explain, reply) on a synthetic
catalog of N items, beside a popularity-under-the-filter baseline in the same run.

    python benchmarks/turn_scale.py --items 1000000 --users 100000    # the issue's size
    python benchmarks/turn_scale.py --items 20000 --users 2000        # a quick look

Conversations are scripted the way people talk to the app (a request, a refinement, "more
like" a title on screen, "why number 2?", "swap 3", "something older", a yes to the app's own
question, a liked title), half from new users, half from catalog users. One JSON object goes
to stdout: per-turn p50 / p95 milliseconds overall and by turn kind, set-up time of each
resource, and the process's peak memory; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TARGET_P95_MS = 100.0
_T0 = time.perf_counter()
_ADJ = ["Crimson", "Silent", "Golden", "Broken", "Hidden", "Electric", "Frozen", "Burning",
        "Velvet", "Iron", "Distant", "Wild", "Last", "Secret", "Paper", "Northern", "Bitter",
        "Lucky", "Savage", "Quiet"]
_NOUN = ["Harbor", "Meridian", "Lantern", "Orchard", "Cathedral", "Horizon", "River",
         "Kingdom", "Summer", "Engine", "Garden", "Empire", "Station", "Letter", "Island",
         "Mirror", "Valley", "Comet", "Citadel", "Frontier"]


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def pct(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs)
    return {"n": len(xs), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p95_ms": round(float(np.percentile(a, 95)), 2),
            "max_ms": round(float(a.max()), 2)}


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def catalog(n_items: int, n_users: int, seed: int) -> Any:
    """The synthetic catalog with film-like titles ("Crimson Harbor 4411"), unique per item."""
    from recsys.synthetic import make_catalog

    cat = make_catalog(n_users, n_items, per_user=20, n_genres=50, n_tags=2000, seed=seed,
                       name=f"synthetic-{n_items}")
    k = np.arange(n_items)
    cat.titles = [f"{_ADJ[i % 20]} {_NOUN[(i // 20) % 20]} {i // 400 + 1}" for i in k.tolist()]
    return cat


def conversations(cat: Any, n: int, seed: int) -> list[tuple[str | None, list[str]]]:
    """(user id or None, the person's messages); ``{title}`` is filled in from an item."""
    rng = np.random.default_rng(seed)
    genres = cat.attributes["genre"].values[:8]
    scripts = [
        ["something {g} from the 90s", "no {h}", "more like number 2", "why number 2?"],
        ["something to watch tonight", "yes", "swap 3", "something older"],
        ["I loved {title}, what else?", "anything from after 2000?", "why number 1?"],
        ["more like {title}", "not number 4", "something {g}"],
        ["a {g} movie please", "I've seen number 1, something newer?", "thanks!"],
    ]
    out = []
    for k in range(n):
        user = None if k % 2 == 0 else cat.user_ids[int(rng.integers(cat.n_users))]
        g, h = (str(x).lower() for x in rng.choice(genres, 2, replace=False))
        title = cat.titles[int(rng.integers(cat.n_items))]
        out.append((user, [t.format(g=g, h=h, title=title) for t in scripts[k % len(scripts)]]))
    return out


class PopularityUnderFilter:
    """The baseline: the request's hard filter as numpy masks, then the most-rated items."""

    def __init__(self, cat: Any) -> None:
        self.cat = cat
        self.counts = np.bincount(cat.interactions.items, minlength=cat.n_items)
        self.genre = cat.attributes["genre"].matrix.tocsc()
        self.index = cat.attributes["genre"].value_index

    def turn(self, genre: str | None, year_min: int | None) -> np.ndarray:
        keep = np.ones(self.cat.n_items, bool)
        if genre in self.index:
            j = self.index[genre]
            m = np.zeros(self.cat.n_items, bool)
            m[self.genre.indices[self.genre.indptr[j]:self.genre.indptr[j + 1]]] = True
            keep &= m
        if year_min is not None:
            keep &= self.cat.years >= year_min
        cand = np.flatnonzero(keep)
        return cand[np.argsort(-self.counts[cand], kind="stable")[:10]]


def similar_recall(sem: Any, seed: int, items: int = 20, k: int = 100) -> dict[str, float]:
    """How many of 20 items' true 100 text neighbours (exact, over every item) the turn's
    ``similar_items`` finds with its share of the IVF lists, and a search of all of them."""
    from recsys.index import SIMILAR_PROBE_SHARE

    rng = np.random.default_rng(seed)
    found: dict[str, list[float]] = {"turn": [], "every_list": []}
    for i in rng.choice(len(sem.embeddings), items, replace=False).tolist():
        s = sem.embeddings @ sem.embeddings[i]
        s[i] = -np.inf
        true = set(np.argpartition(-s, k)[:k].tolist())
        for name, share in (("turn", SIMILAR_PROBE_SHARE), ("every_list", 1.0)):
            got = sem.search_vector(sem.embeddings[i], k, exclude=[i], probe_share=share)
            found[name].append(len(true & set(got.ids.tolist())) / k)
    return {name: round(float(np.mean(v)), 3) for name, v in found.items()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=1_000_000)
    p.add_argument("--users", type=int, default=100_000)
    p.add_argument("--conversations", type=int, default=40)
    p.add_argument("--embedding", default="hashing-384",
                   help="item text encoder (MiniLM over 1M texts takes hours on 2 cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path, default=None,
                   help="keep the stored catalog, models and index here and reuse them in a "
                        "later run of the same size and seed (default: a temporary folder)")
    args = p.parse_args(argv)

    from threadpoolctl import threadpool_limits

    from agent.manager import Manager
    from agent.tools import ToolContext
    from recsys.db import get_engine
    from recsys.serving import train
    from recsys.settings import Settings
    from recsys.store import save_catalog

    setup: dict[str, float] = {}
    out: dict[str, Any] = {"machine": {"cores": os.cpu_count(), "gpu": False}}
    with tempfile.TemporaryDirectory(prefix="tastebud-scale-") as tmp:
        folder = args.data_dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        settings = Settings(data_dir=folder, embedding_model=args.embedding)
        # what a later run may reuse: the same catalog (size, seed) stored and trained
        built = folder / f".built-{args.items}-{args.users}-{args.seed}"
        t = time.perf_counter()
        log(f"synthetic catalog: {args.items} items, {args.users} users")
        cat = catalog(args.items, args.users, args.seed)
        setup["catalog_s"] = time.perf_counter() - t
        engine = get_engine(settings.database_url)
        if built.exists():
            log(f"reusing the stored catalog and models in {folder}")
        else:
            t = time.perf_counter()
            log("storing it (SQLite: the hard filters' database)")
            save_catalog(engine, cat, progress=True)
            setup["store_s"] = time.perf_counter() - t
            t = time.perf_counter()
            train(cat, settings, ["als", "popularity"], progress=True)
            setup["train_s"] = time.perf_counter() - t
            built.touch()
        ctx = ToolContext(catalog=cat, settings=settings, engine=engine)
        for name, load in (("semantic_index", ctx.semantic_index), ("graph", ctx.policy),
                           ("session_ranker", ctx.session_ranker), ("models", ctx.model)):
            t = time.perf_counter()
            log(f"loading {name}")
            load()
            setup[f"{name}_s"] = time.perf_counter() - t
        t = time.perf_counter()
        manager = Manager(ctx.warm(), llm=None).warm()
        setup["manager_s"] = time.perf_counter() - t
        out["setup_s"] = {k: round(v, 1) for k, v in setup.items()}
        out["peak_rss_after_setup_mb"] = peak_mb()

        out["similar_items_recall@100"] = similar_recall(ctx.semantic_index(), args.seed)
        base = PopularityUnderFilter(cat)
        convs = conversations(cat, args.conversations, args.seed)
        log(f"{len(convs)} conversations, {sum(len(c[1]) for c in convs)} turns")
        turn_ms: list[float] = []
        base_ms: list[float] = []
        by_kind: dict[str, list[float]] = {}
        listed = 0
        slow: list[tuple[float, str, bool]] = []
        with threadpool_limits(limits=1):  # one thread per request, as a server would run
            manager.respond(manager.start(None), "a comedy please")  # warm-up
            for user, texts in convs:
                conv = manager.start(user)
                for text in texts:
                    t = time.perf_counter()
                    res = manager.respond(conv, text)
                    ms = (time.perf_counter() - t) * 1e3
                    turn_ms.append(ms)
                    slow.append((ms, text, user is None))
                    by_kind.setdefault(str(res.get("kind") or res.get("action")), []).append(ms)
                    listed += bool(res["items"])
                    c = conv.constraints
                    genre = next(iter(c.include.get("genre", [])), None)
                    t = time.perf_counter()
                    base.turn(genre, c.year_min)
                    base_ms.append((time.perf_counter() - t) * 1e3)
        turns = pct(turn_ms)
        out.update({
            "items": cat.n_items, "users": cat.n_users,
            "interactions": len(cat.interactions), "encoder": args.embedding,
            "semantic_index": ctx.semantic_index().index.kind,
            "tools_only_turn": turns, "turns_with_a_list": listed,
            "by_kind": {k: pct(v) for k, v in sorted(by_kind.items())},
            "baseline_popularity_under_filter": pct(base_ms),
            "median_ratio": round(turns["p50_ms"] / max(pct(base_ms)["p50_ms"], 1e-6), 1),
            "slowest": [{"ms": round(ms, 1), "text": t, "new_user": new}
                        for ms, t, new in sorted(slow, reverse=True)[:8]],
            "peak_rss_mb": peak_mb(),
            "target_p95_ms": TARGET_P95_MS, "meets_target": turns["p95_ms"] <= TARGET_P95_MS,
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "total_s": round(time.perf_counter() - _T0, 1),
        })
        engine.dispose()
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
