"""Latency of a tools-only turn: filter_items + search_items + rank_items + explain (top item).

The agent's tools (SQL filter, semantic index, MF model, graph explainer, candidate bus, JSON
results) run next to a brute-force numpy baseline doing the same four steps over dense arrays,
in one process, over ~30 varied requests; one JSON object goes to stdout, progress to stderr.

    TASTEBUD_MIRROR=/work/shared/datasets TASTEBUD_DATA_DIR=/tmp/tb-tools \\
        python benchmarks/tools_turn.py [--repeat 3]

The issue's target: tools-only turn p95 <= 100 ms on the demo catalog (movielens-small).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TASTEBUD_MIRROR", "/work/shared/datasets")
os.environ.setdefault("TASTEBUD_DATA_DIR", "/tmp/tb-tools")

TARGET_P95_MS = 100.0
# (genres to include, year_min, year_max, free-text wish): hard and soft parts of a request
REQUESTS: list[tuple[list[str], int | None, int | None, str]] = [
    (["Sci-Fi"], None, None, "dark space horror with a strong heroine"),
    (["Comedy", "Romance"], 1990, None, "feel-good romantic comedy in Paris"),
    (["Animation"], None, None, "animated movie for kids about toys"),
    (["Crime", "Thriller"], 1980, 2010, "gritty crime thriller with a heist"),
    (["Sci-Fi"], 2000, None, "mind-bending science fiction about dreams"),
    (["War", "Drama"], None, 2000, "world war two drama"),
    (["Action"], 2005, None, "superhero action with lots of explosions"),
    (["Documentary"], None, None, "quiet documentary about nature"),
    (["Comedy"], 1995, 2015, "coming of age story in high school"),
    (["Musical"], None, None, "musical with great songs"),
    (["Horror"], 1970, 1990, "slasher in a summer camp"),
    (["Western"], None, None, "lonely gunslinger seeking revenge"),
    (["Fantasy", "Adventure"], None, None, "epic quest with wizards and dragons"),
    (["Mystery"], None, None, "detective unravels a murder in a small town"),
    (["Drama"], 2010, None, "slow-burn family drama with great acting"),
    (["Children"], None, None, "talking animals go on an adventure"),
    (["Film-Noir"], None, 1960, "femme fatale and a doomed private eye"),
    (["Action", "Adventure"], 1980, 1999, "treasure hunting archaeologist"),
    (["Comedy"], None, None, "absurd british sketch humour"),
    (["Thriller"], 1990, None, "psychological thriller with a twist ending"),
    (["Romance"], None, 1980, "classic love story"),
    (["Sci-Fi", "Action"], None, None, "robots and artificial intelligence"),
    (["Drama"], None, None, "courtroom drama about justice"),
    (["Animation"], 2000, None, "Japanese anime with spirits"),
    (["Crime"], None, None, "mafia family saga"),
    (["Horror"], 2000, None, "haunted house ghosts"),
    (["Documentary", "Drama"], None, None, "true story about music"),
    (["Comedy", "Crime"], None, None, "stoner comedy with a heist gone wrong"),
    (["Adventure"], None, None, "survival in the wilderness"),
    (["IMAX"], None, None, "visually stunning space adventure"),
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs)
    return {"p50_ms": round(float(np.percentile(a, 50)), 2),
            "p95_ms": round(float(np.percentile(a, 95)), 2),
            "max_ms": round(float(a.max()), 2)}


def setup() -> tuple[Any, Any]:
    """The demo catalog and settings, with ALS + popularity trained if missing."""
    from recsys.catalogs import open_catalog
    from recsys.errors import ModelError
    from recsys.serving import load_recommender, train
    from recsys.settings import Settings

    settings = Settings()
    cat = open_catalog("movielens-small", settings, progress=False)
    try:
        for name in ("als", "popularity"):
            load_recommender(cat, settings, name)
    except ModelError:
        log("training als + popularity ...")
        train(cat, settings, ["als", "popularity"], progress=False)
    return cat, settings


def tools_turn(ctx: Any, req: tuple) -> str | None:
    """One turn through the tools; the top item's id (None when nothing qualifies)."""
    from agent.tools import execute

    genres, lo, hi, text = req
    ctx.bus.new_turn()
    args: dict[str, Any] = {"include": {"genre": genres}}
    if lo is not None:
        args["year_min"] = lo
    if hi is not None:
        args["year_max"] = hi
    for name, a in (("filter_items", args), ("search_items", {"query": text, "k": 50}),
                    ("rank_items", {"n": 10})):
        out = execute(name, a, ctx)
        if "error" in out:
            raise RuntimeError(f"{name}: {out['error']}")
    top = out["items"][0]["id"] if out["items"] else None
    if top is not None:
        execute("explain", {"item": top}, ctx)
    return top


class Baseline:
    """The same four steps over dense numpy arrays: masks, full scans, argsort."""

    def __init__(self, cat: Any, ctx: Any) -> None:
        g = cat.attributes["genre"]
        self.cat, self.genre_index = cat, g.value_index
        self.genres = g.matrix.toarray() > 0  # (I, G) bool
        self.item_attr = ctx.policy().mats.item_attr.toarray() > 0  # (I, A) bool
        self.df = self.item_attr.sum(axis=0)
        self.years = cat.years.astype(np.int64)
        self.sem = ctx.semantic_index()
        self.emb = self.sem.embeddings
        self.als, self.pop = ctx.model(), ctx.popular()
        self.uf = np.asarray(self.als.user_factors)
        self.itf = np.asarray(self.als.item_factors)
        self.counts = np.bincount(self.pop.seen.indices, minlength=cat.n_items)
        self.liked = ctx.policy().mats.user_item

    def turn(self, user: int | None, req: tuple) -> int | None:
        genres, lo, hi, text = req
        cols = [self.genre_index[x] for x in genres]
        mask = self.genres[:, cols].any(axis=1)
        if lo is not None:
            mask &= self.years >= lo
        if hi is not None:
            mask &= self.years <= hi
        cand = np.flatnonzero(mask)
        q = self.sem.encoder.encode([text], progress=False)[0]
        cand = cand[np.argsort(-(self.emb[cand] @ q), kind="stable")[:50]]
        s = self.als.seen
        if user is not None and s.indptr[user + 1] > s.indptr[user]:
            seen = s.indices[s.indptr[user]:s.indptr[user + 1]]
            cand = cand[~np.isin(cand, seen)]
            scores = self.itf[cand] @ self.uf[user]
        else:
            scores = self.counts[cand].astype(np.float32)
        top = cand[np.argsort(-scores, kind="stable")[:10]]
        if not len(top):
            return None
        item = int(top[0])
        if user is not None:  # explain: a liked item sharing the rarest attribute
            mine = self.liked.indices[self.liked.indptr[user]:self.liked.indptr[user + 1]]
            shared = self.item_attr[mine] & self.item_attr[item]
            if shared.any():
                cols_ = np.flatnonzero(shared.any(axis=0))
                _ = cols_[np.argmin(self.df[cols_])]
        return item


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="passes over the requests")
    args = p.parse_args()
    from agent.tools import ToolContext

    t0 = time.perf_counter()
    cat, settings = setup()
    rng = np.random.default_rng(0)
    # every fifth request comes from a new user (no history: popularity fallback)
    users = [None if k % 5 == 4 else int(u)
             for k, u in enumerate(rng.integers(0, cat.n_users, len(REQUESTS)))]
    ctx = ToolContext(cat, settings)
    log("loading models, semantic index, graph ...")
    ctx.warm()
    setup_s = time.perf_counter() - t0
    base = Baseline(cat, ctx)
    for u, req in zip(users, REQUESTS, strict=True):  # warm-up both paths
        ctx.user = u
        tools_turn(ctx, req)
        base.turn(u, req)
    tool_ms: list[float] = []
    base_ms: list[float] = []
    steps: dict[str, list[float]] = {}
    agree = 0
    for _ in range(args.repeat):
        for u, req in zip(users, REQUESTS, strict=True):
            ctx.user = u
            t = time.perf_counter()
            top = tools_turn(ctx, req)
            tool_ms.append((time.perf_counter() - t) * 1e3)
            for s in ctx.bus.log:
                steps.setdefault(s.tool, []).append(s.ms)
            t = time.perf_counter()
            ref = base.turn(u, req)
            base_ms.append((time.perf_counter() - t) * 1e3)
            agree += (top is None and ref is None) or (top is not None and ref is not None
                                                       and cat.item(top) == ref)
    tools = pct(tool_ms)
    print(json.dumps({
        "catalog": cat.name, "items": cat.n_items, "users": cat.n_users,
        "encoder": ctx.semantic_index().encoder.name, "model": ctx.model().name,
        "requests": len(REQUESTS), "repeat": args.repeat, "new_user_share": 0.2,
        "setup_s": round(setup_s, 2),
        "tools_turn": tools,
        "tools_steps_p50_ms": {k: pct(v)["p50_ms"] for k, v in steps.items()},
        "numpy_baseline_turn": pct(base_ms),
        "same_top_item": round(agree / len(tool_ms), 3),
        "target_p95_ms": TARGET_P95_MS, "meets_target": tools["p95_ms"] <= TARGET_P95_MS,
    }, indent=1))


if __name__ == "__main__":
    main()
