"""Top-N benchmark on MovieLens ml-latest-small (BENCHMARKS.md section 2).

Per-user temporal split: each user's last 20% of rated items are test; ratings >= 4 are the
positives models train on and the relevant test items; ranking is over every item the user did
not rate in train. Hyperparameters are chosen on a validation split carved the same way from
train (its last 20%), never on test; the chosen models are refit on all of train.

    python benchmarks/topn.py [--synthetic]     # prints one JSON object; progress on stderr

``--catalog NAME`` runs another catalog. One whose spec labels train/valid/test (``[split]``,
e.g. lastfm-2k) is tuned on train -> valid and tested on train + valid -> test; without ratings
(play counts) every event is a positive, weighted as the spec's transform left it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from typing import Any

from recsys.catalog import Catalog, Interactions
from recsys.metrics import evaluate
from recsys.models import create
from recsys.serving import POSITIVE_RATING
from recsys.split import temporal_split

GRIDS: dict[str, dict[str, list[Any]]] = {
    "popularity": {},
    "itemknn": {"neighbours": [20, 50, 100, 200]},
    "als": {"factors": [32, 64, 128], "regularization": [0.05, 0.5, 5.0, 20.0],
            "weighting": ["bm25", "none"]},
    "bpr": {"factors": [32, 64], "learning_rate": [0.01, 0.05],
            "iterations": [100, 200]},
}
PROTOCOL = ("per-user temporal split (last 20% of each user's ratings are test); ratings >= 4 "
            "are positives for training and relevance; full ranking over items unrated in "
            "train; hyperparameters by NDCG@10 on a validation split (last 20% of train), then "
            "refit on all of train")


def positives(inter: Interactions) -> Interactions:
    if inter.ratings is None:  # implicit feedback (play counts): every event is a positive
        return inter
    return inter.subset(inter.ratings >= POSITIVE_RATING)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_model(name: str, params: dict[str, Any], train: Interactions, test: Interactions
              ) -> dict[str, float]:
    model = create(name, **params)
    t0 = time.perf_counter()
    model.fit(positives(train), progress=False)
    fit_s = time.perf_counter() - t0
    m = evaluate(model, positives(train), positives(test), ks=(10, 20),
                 exclude=train.to_csr(binary=True), progress=False)
    return {"Recall@10": m["Recall@10"], "Recall@20": m["Recall@20"], "NDCG@10": m["NDCG@10"],
            "NDCG@20": m["NDCG@20"], "Hit@10": m["Hit@10"], "coverage": m["coverage@10"],
            "fit_s": fit_s, "users": m["users"]}


def tune(name: str, train: Interactions, valid_split: tuple[Interactions, Interactions] | None
         = None) -> tuple[dict[str, Any], float]:
    """Best grid point by validation NDCG@10 (validation = last 20% of train, or the spec's)."""
    inner, valid = valid_split or temporal_split(train, 0.2)
    grid = GRIDS[name]
    best: tuple[dict[str, Any], float] = ({}, -1.0)
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid, values, strict=True))
        ndcg = run_model(name, params, inner, valid)["NDCG@10"]
        log(f"  {name} {params}: valid NDCG@10 {ndcg:.4f}")
        if ndcg > best[1]:
            best = (params, ndcg)
    return best


def load(synthetic: bool, name: str = "movielens-small") -> Catalog:
    if synthetic:
        from recsys.synthetic import make_catalog

        return make_catalog(610, 9742, 80, n_genres=20, name="synthetic")
    from recsys.catalogs import open_catalog

    return open_catalog(name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", action="store_true", help="a synthetic catalog instead")
    ap.add_argument("--catalog", default="movielens-small", help="catalog name")
    ap.add_argument("--models", nargs="+", choices=list(GRIDS), default=list(GRIDS))
    args = ap.parse_args()
    cat = load(args.synthetic, args.catalog)
    inter, protocol = cat.interactions, PROTOCOL
    valid_split = None
    if inter.splits is not None:
        labels = inter.splits
        valid_split = (inter.subset(labels == "train"), inter.subset(labels == "valid"))
        train, test = inter.subset(labels != "test"), inter.subset(labels == "test")
        protocol = ("the spec's train/valid/test labels; "
                    + ("ratings >= 4 are positives" if inter.ratings is not None
                       else "every event is a positive, weighted as imported")
                    + "; full ranking over items unseen in train; hyperparameters by NDCG@10 "
                      "fitting train and scoring valid, then refit on train + valid")
    else:
        train, test = temporal_split(inter, 0.2)
    out: dict[str, Any] = {
        "dataset": "synthetic" if args.synthetic else args.catalog, "protocol": protocol,
        "machine": {"cores": os.cpu_count()}, "models": {}, "params": {}}
    for name in args.models:
        params, valid_ndcg = tune(name, train, valid_split)
        log(f"{name}: chose {params} (valid NDCG@10 {valid_ndcg:.4f}); testing")
        result = run_model(name, params, train, test)
        out["models"][name] = {k: round(v, 4) for k, v in result.items() if k != "users"}
        out["params"][name] = params
        out["test_users"] = int(result["users"])
    if {"popularity", "als"} <= set(out["models"]):
        pop, als = out["models"]["popularity"]["NDCG@10"], out["models"]["als"]["NDCG@10"]
        out["als_vs_popularity_ndcg10"] = round(als / pop, 3) if pop else None
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
