"""Real conversations: ReDial's recommendation protocol, Tastebud beside two baselines.

For every recommender utterance of a dialogue that names a movie mapped to the catalog, the
ground truth is those movies ("all"), or only those not mentioned earlier in the dialogue
("new", He et al. CIKM 2023). Tastebud's prediction is its list after replaying the seeker's
turns so far through the dialogue manager (rules understanding, no LLM: the seeker's words
only, never the human recommender's). Baselines in the same run: catalog popularity and
item-kNN over the movies the seeker mentioned (given the gold mentions, no understanding), and
the movies human recommenders suggested most in the training dialogues.

Anything learned from dialogues comes from ``--train-dialogues``, never from the scored file.

    python benchmarks/redial.py --dialogues ../shared/datasets/redial/dev_dialogues.jsonl
    python benchmarks/redial.py --tune      # fit the session weights on training dialogues

Prints {"dialogues", "pairs": {"new", "all"}, "coverage", "methods": {name: {"new": {"R@1",
"R@10", "R@50"}, "all": {...}}}, "s_per_dialogue", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

KS = (1, 10, 50)
DEFAULT_DEV = "redial/dev_dialogues.jsonl"
DEFAULT_TRAIN = "redial/train_partial.jsonl"


@dataclass
class Point:
    """One recommender utterance to predict: the gold movies and what came before."""

    dialogue: int
    turn: int  # index of the recommender turn in the dialogue
    new: list[int]
    all: list[int]
    seeker_items: list[int]  # mapped movies the seeker named so far (for the baselines)


def points(dialogues, mapper) -> tuple[list[Point], float]:  # type: ignore[no-untyped-def]
    """Every scored utterance, and the share of movie mentions mapped to the catalog."""
    out: list[Point] = []
    total = mapped = 0
    for di, d in enumerate(dialogues):
        m = mapper.map_dialogue(d)
        before: list[int] = []
        seeker: list[int] = []
        for ti, t in enumerate(d.turns):
            total += len(t.movies)
            items = list(dict.fromkeys(m[x] for x in t.movies if x in m))
            mapped += sum(x in m for x in t.movies)
            if not t.seeker and items:
                new = [i for i in items if i not in before]
                out.append(Point(di, ti, new, items, list(seeker)))
            if t.seeker:
                seeker += [i for i in items if i not in seeker]
            before += [i for i in items if i not in before]
    return out, mapped / max(total, 1)


class Scores:
    """Recall@k over (utterance, movie) pairs, for the "new" and "all" ground truths."""

    def __init__(self) -> None:
        self.hits = {g: dict.fromkeys(KS, 0) for g in ("new", "all")}
        self.n = {"new": 0, "all": 0}

    def add(self, p: Point, ranked: Sequence[int]) -> None:
        pos = {item: r for r, item in enumerate(ranked[:max(KS)])}
        for g in ("new", "all"):
            for item in getattr(p, g):
                self.n[g] += 1
                r = pos.get(item)
                for k in KS:
                    self.hits[g][k] += r is not None and r < k

    def json(self) -> dict[str, dict[str, float]]:
        return {g: {f"R@{k}": round(self.hits[g][k] / max(self.n[g], 1), 4) for k in KS}
                for g in ("new", "all")}


def run_baselines(pts: list[Point], knn, pop: np.ndarray,  # type: ignore[no-untyped-def]
                  suggested: np.ndarray) -> dict[str, Scores]:
    order = np.argsort(-pop, kind="stable")
    # what human recommenders suggested most in the training dialogues (ties: ratings)
    order_s = np.lexsort((-pop, -suggested))
    out = {"popularity": Scores(), "redial_suggested": Scores(), "itemknn_mentions": Scores()}
    sim = knn.similarity
    for p in pts:
        seen = set(p.seeker_items)
        out["popularity"].add(p, [int(i) for i in order[:max(KS) + len(seen)]
                                  if int(i) not in seen])
        out["redial_suggested"].add(p, [int(i) for i in order_s[:max(KS) + len(seen)]
                                        if int(i) not in seen])
        if p.seeker_items:
            s = np.asarray(sim[p.seeker_items].sum(axis=0)).ravel()
            s += 1e-6 * pop / max(float(pop.max()), 1.0)  # popularity breaks ties
            s[p.seeker_items] = -np.inf
            top = np.argpartition(-s, max(KS))[:max(KS)]
            out["itemknn_mentions"].add(p, [int(i) for i in top[np.argsort(-s[top])]])
        else:
            out["itemknn_mentions"].add(p, [int(i) for i in order[:max(KS)]])
    return out


def run_tastebud(manager, dialogues, pts: list[Point], progress: bool) -> Scores:  # type: ignore[no-untyped-def]
    """Replay each dialogue's seeker turns through the manager; rank at every scored point."""
    from tqdm.auto import tqdm

    cat = manager.catalog
    by_dialogue: dict[int, list[Point]] = {}
    for p in pts:
        by_dialogue.setdefault(p.dialogue, []).append(p)
    scores = Scores()
    for di in tqdm(sorted(by_dialogue), desc="tastebud on ReDial", unit="dlg",
                   disable=not progress):
        d = dialogues[di]
        conv = manager.start(None)
        todo = {p.turn: p for p in by_dialogue[di]}
        for ti, t in enumerate(d.turns):
            if ti in todo:
                ranked = [cat.item_index[i] for i in manager.ranking(conv, max(KS))]
                scores.add(todo[ti], ranked)
            if t.seeker:
                text = d.text_of(t)[:1900]
                for _ in manager.turn(conv, text):
                    pass
                # The seeker never saw Tastebud's lists (they answered a human), so nothing
                # Tastebud "showed" is excluded later or resolves "that one".
                conv.shown, conv.ever_shown, conv.focus = [], [], None
    return scores


def open_manager(catalog: str, train_files: list[Path], weights=None):  # type: ignore[no-untyped-def]
    """The product's manager over the catalog, its dialogue knowledge from ``train_files``."""
    from agent.manager import Manager
    from recsys.serving import fit_dialogue_knowledge, load_recommender
    from recsys.session import SessionRanker

    manager = Manager.open(catalog, progress=False)
    cat, settings = manager.catalog, manager.base.settings
    # this run's dialogue knowledge: exactly the training files given, fitted in memory
    knowledge = fit_dialogue_knowledge(cat, train_files, progress=False)
    knn = load_recommender(cat, settings, "itemknn")
    manager.base.session = SessionRanker(knn.similarity,  # type: ignore[attr-defined]
                                         manager.base.popular().popularity,  # type: ignore[attr-defined]
                                         knowledge, weights)
    return manager


def tune(catalog: str, train_files: list[Path], progress: bool, only_score: bool = False
         ) -> dict:
    """Fit the session weights on training dialogues only: knowledge from 80% of them,
    weights chosen by R@10 (new) on the other 20%, coordinate search over a small grid."""
    from recsys.dialogues import read_dialogues
    from recsys.session import SessionWeights

    dialogues = [d for f in train_files for d in read_dialogues(f)]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(dialogues))
    cut = int(0.8 * len(dialogues))
    fit_d = [dialogues[i] for i in order[:cut]]
    val_d = [dialogues[i] for i in order[cut:]]
    tmp = Path(tempfile.mkdtemp(prefix="redial-fit-")) / "fit.jsonl"
    _write_subset(train_files, {d.id for d in fit_d}, tmp)
    manager = open_manager(catalog, [tmp])
    from recsys.dialogues import TitleMapper

    pts, _ = points(val_d, TitleMapper(manager.catalog))
    best = SessionWeights()
    grid = {"knn": (1.0, 3.0, 6.0), "comention": (0.5, 1.0, 2.0), "popularity": (0.0, 0.2, 0.5),
            "suggested": (0.25, 0.5, 1.0), "decay": (0.7, 0.85, 1.0), "genre": (1.0, 2.0, 4.0),
            "request": (1.0, 3.0, 6.0), "request_prior": (0.25, 0.5, 1.0)}

    def score(w: SessionWeights) -> float:
        from recsys.session import SessionRanker

        r = manager.base.session
        manager.base.session = SessionRanker(r.similarity, manager.base.popular().popularity,
                                             r.knowledge, w)
        return run_tastebud(manager, val_d, pts, False).json()["new"]["R@10"]

    product = SessionWeights()
    product_score = score(product)
    if only_score:
        return {"product_weights": asdict(product), "val_R@10_new_product": product_score,
                "fit_dialogues": len(fit_d), "val_dialogues": len(val_d)}
    best_score = product_score
    trace = [(asdict(best), best_score)]
    for _round in range(2):
        for name, values in grid.items():
            for v in values:
                w = replace(best, **{name: v})
                if w == best:
                    continue
                s = score(w)
                trace.append((asdict(w), s))
                if s > best_score:
                    best, best_score = w, s
        if progress:
            print(f"round {_round}: {asdict(best)} R@10 {best_score}", file=sys.stderr)
    return {"weights": asdict(best), "val_R@10_new": best_score,
            "product_weights": asdict(product), "val_R@10_new_product": product_score,
            "fit_dialogues": len(fit_d), "val_dialogues": len(val_d), "tried": len(trace)}


def _write_subset(files: list[Path], ids: set[str], out: Path) -> None:
    with out.open("w", encoding="utf-8") as w:
        for f in files:
            for line in f.open(encoding="utf-8"):
                if line.strip() and str(json.loads(line).get("conversationId")) in ids:
                    w.write(line)


def main(argv: Sequence[str] | None = None) -> dict:
    mirror = Path(os.environ.get("TASTEBUD_MIRROR", "../shared/datasets"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dialogues", type=Path, default=mirror / DEFAULT_DEV)
    ap.add_argument("--train-dialogues", type=Path, action="append", default=None)
    ap.add_argument("--catalog", default="movielens-small")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N dialogues")
    ap.add_argument("--tune", action="store_true", help="fit session weights on training data")
    ap.add_argument("--validate", action="store_true",
                    help="only score the product's weights on the fit's validation dialogues")
    args = ap.parse_args(argv)
    train_files = args.train_dialogues or [mirror / DEFAULT_TRAIN]
    progress = sys.stderr.isatty()
    if args.tune or args.validate:
        return tune(args.catalog, train_files, progress, only_score=args.validate)

    from recsys.dialogues import TitleMapper, read_dialogues

    if args.dialogues.resolve() in {f.resolve() for f in train_files}:
        raise SystemExit("--dialogues is one of the --train-dialogues: score unseen dialogues")
    manager = open_manager(args.catalog, train_files)
    dialogues = read_dialogues(args.dialogues)
    if args.limit:
        dialogues = dialogues[:args.limit]
    pts, coverage = points(dialogues, TitleMapper(manager.catalog))
    ctx = manager.base
    t0 = time.perf_counter()
    base = run_baselines(pts, _knn(manager), ctx.popular().popularity,
                         ctx.session_ranker().knowledge.suggested)
    t1 = time.perf_counter()
    tb = run_tastebud(manager, dialogues, pts, progress)
    t2 = time.perf_counter()
    methods = {"tastebud": tb.json(), **{k: v.json() for k, v in base.items()}}
    return {"dialogues": len(dialogues), "pairs": dict(tb.n), "coverage": round(coverage, 4),
            "methods": methods, "s_per_dialogue": round((t2 - t1) / max(len(dialogues), 1), 4),
            "baselines_s": round(t1 - t0, 2), "catalog": manager.catalog.name,
            "train_dialogues": [str(f) for f in train_files],
            "session": manager.base.session_ranker().describe(),
            "machine": f"{os.cpu_count()} cores"}


def _knn(manager):  # type: ignore[no-untyped-def]
    from recsys.serving import load_recommender

    return load_recommender(manager.catalog, manager.base.settings, "itemknn")


if __name__ == "__main__":
    from recsys.errors import TastebudError

    try:
        print(json.dumps(main(), indent=1))
    except TastebudError as e:  # a bad or missing file: say which, no traceback
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
