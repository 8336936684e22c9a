"""Train, store and serve a catalog's recommenders: the glue the CLI and the agent call.

Models live in ``models_dir/<catalog>/``; an MF model's faiss index over its item factors is
cached in ``indexes_dir/<catalog>/`` keyed by the model file's sha256, so it is rebuilt exactly
when the model (and so the catalog it was trained on) changes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from recsys.catalog import Catalog, Interactions
from recsys.errors import ModelError
from recsys.models import Recommender, available, create
from recsys.settings import Settings

POSITIVE_RATING = 4.0  # explicit ratings at or above this count as "liked" (BENCHMARKS.md 2)
DEFAULT_MODEL = "als"
# Hyperparameters that benchmarks/topn.py chose on MovieLens by validation NDCG@10 (a split
# carved from train, never test); the product serves with the same values.
DEFAULT_PARAMS: dict[str, dict] = {
    "popularity": {},
    "itemknn": {"neighbours": 200},
    "als": {"factors": 32, "regularization": 5.0, "weighting": "none"},
    "bpr": {"factors": 64, "learning_rate": 0.01, "iterations": 100},
}


@dataclass
class Trained:
    """One trained model."""

    name: str
    fit_s: float
    path: Path


def training_interactions(catalog: Catalog) -> Interactions:
    """What the product's models learn from: liked items (rated >= 4) or every event."""
    inter = catalog.interactions
    if inter.ratings is None:
        return inter
    return inter.subset(inter.ratings >= POSITIVE_RATING)


def model_dir(catalog: Catalog, settings: Settings) -> Path:
    return settings.models_dir / catalog.name


def train(catalog: Catalog, settings: Settings, names: list[str] | None = None, *,
          progress: bool | None = None) -> list[Trained]:
    """Fit and save the named models (default: all) on ``catalog``."""
    from recsys.models.persist import save_model

    data = training_interactions(catalog)
    out = []
    for name in names or available():
        model = create(name, **DEFAULT_PARAMS.get(name, {}))
        t0 = time.perf_counter()
        model.fit(data, progress=progress)
        fit_s = time.perf_counter() - t0
        path = save_model(model, model_dir(catalog, settings), catalog=catalog.name,
                          fingerprint=catalog.fingerprint)
        if hasattr(model, "item_factors"):
            _mf_index(model, path, catalog, settings)
        out.append(Trained(name, fit_s, path))
    return out


SERVED_MODELS = ("als", "popularity", "itemknn")


def untrained(catalog: Catalog, settings: Settings, names: tuple[str, ...] = SERVED_MODELS
              ) -> list[str]:
    """The models of ``names`` to train before serving ``catalog``: missing, unreadable, of
    another format, or trained on another version of the catalog (it was imported again)."""
    from recsys.models.persist import FORMAT_VERSION

    out = []
    for name in names:
        try:
            meta = json.loads((model_dir(catalog, settings) / f"{name}.json").read_text())
        except (OSError, ValueError):
            out.append(name)
            continue
        if (meta.get("format_version"), meta.get("catalog"), meta.get("fingerprint")) != (
                FORMAT_VERSION, catalog.name, catalog.fingerprint) \
                or not (model_dir(catalog, settings) / f"{name}.npz").is_file():
            out.append(name)
    return out


def dialogues_stale(catalog: Catalog, settings: Settings) -> bool:
    """Whether the dialogue knowledge is missing or fitted on another catalog version."""
    try:
        meta = json.loads((model_dir(catalog, settings) / DIALOGUES_FILE).with_suffix(
            ".json").read_text())
    except (OSError, ValueError):
        return True
    return meta.get("fingerprint") != catalog.fingerprint


def load_recommender(catalog: Catalog, settings: Settings, name: str = DEFAULT_MODEL
                     ) -> Recommender:
    """A trained model of ``catalog``, with its cached MF index attached when it has one."""
    from recsys.models.persist import load_model

    directory = model_dir(catalog, settings)
    model = load_model(directory, name, catalog=catalog.name, fingerprint=catalog.fingerprint)
    if hasattr(model, "attach_index"):
        model.attach_index(_mf_index(model, directory / f"{name}.npz", catalog, settings))
    return model


def _mf_index(model: Recommender, npz: Path, catalog: Catalog, settings: Settings):  # type: ignore[no-untyped-def]
    """The faiss inner-product index over ``model.item_factors`` (cached on disk)."""
    from recsys.index import VectorIndex, auto_kind

    meta = json.loads(npz.with_suffix(".json").read_text())
    root = settings.indexes_dir / catalog.name
    path = root / f"mf-{model.name}-{meta['sha256'][:16]}.faiss"
    if path.is_file():
        try:
            return VectorIndex.load(path)
        except ModelError:  # an unreadable cache is rebuilt, never fatal
            path.unlink(missing_ok=True)
    for old in root.glob(f"mf-{model.name}-*.faiss"):
        old.unlink(missing_ok=True)
    factors = model.item_factors  # type: ignore[attr-defined]
    index = VectorIndex.build(factors, auto_kind(*factors.shape))
    root.mkdir(parents=True, exist_ok=True)
    index.save(path)
    return index


DIALOGUES_FILE = "dialogues.npz"
KNN_IN_MEMORY_ITEMS = 50_000  # above this, a missing item-kNN is not fitted during a turn


def dialogues_spec(catalog: Catalog, settings: Settings):  # type: ignore[no-untyped-def]
    """The catalog spec's ``[dialogues]`` section, or None (no spec of that name, or none)."""
    from recsys.catalogs import find_spec
    from recsys.errors import TastebudError
    from recsys.spec import load_spec

    try:
        return load_spec(find_spec(catalog.name, settings)).dialogues
    except TastebudError:
        return None


def train_dialogues(catalog: Catalog, settings: Settings, *, progress: bool | None = None,
                    files: list[Path] | None = None) -> Path | None:
    """Fit ``DialogueKnowledge`` from the spec's dialogue files (or ``files``) and save it.

    Returns None when the catalog names no dialogues; a dataset that cannot be fetched is a
    warning, not a failure: conversational ranking then runs on ratings alone.
    """
    import logging

    from recsys.datasets import fetch
    from recsys.errors import DatasetError

    tolerance = 1
    if files is None:
        spec = dialogues_spec(catalog, settings)
        if spec is None:
            return None
        try:
            root = fetch(spec.dataset, settings, progress=progress)
        except DatasetError as e:
            logging.getLogger(__name__).warning("dialogues skipped: %s", e)
            return None
        files, tolerance = [root / f for f in spec.files], spec.year_tolerance
    knowledge = fit_dialogue_knowledge(catalog, files, tolerance=tolerance, progress=progress)
    out = model_dir(catalog, settings) / DIALOGUES_FILE
    knowledge.save(out, fingerprint=catalog.fingerprint)
    return out


def fit_dialogue_knowledge(catalog: Catalog, files: list[Path], *, tolerance: int = 1,
                           progress: bool | None = None):  # type: ignore[no-untyped-def]
    """``DialogueKnowledge`` from ReDial-format files, their movies mapped to ``catalog``."""
    from tqdm.auto import tqdm

    from recsys.dialogues import TitleMapper, read_dialogues
    from recsys.models.base import show_progress
    from recsys.session import DialogueKnowledge

    mapper = TitleMapper(catalog, tolerance=tolerance)
    pairs = []
    for path in files:
        for d in tqdm(read_dialogues(path), desc=f"dialogues {Path(path).name}", unit="dlg",
                      disable=not show_progress(progress)):
            m = mapper.map_dialogue(d)
            seeker = [m[x] for t in d.turns if t.seeker for x in t.movies if x in m]
            rec = [m[x] for t in d.turns if not t.seeker for x in t.movies if x in m]
            pairs.append((seeker, rec))
    return DialogueKnowledge.fit(pairs, catalog.n_items,
                                 sources=[Path(p).name for p in files])


def load_session_ranker(catalog: Catalog, settings: Settings):  # type: ignore[no-untyped-def]
    """The conversation ranker: item-kNN + popularity + dialogue knowledge when trained.

    A catalog without a trained item-kNN (a test's tiny catalog, models trained one by one)
    gets one fitted in memory: seconds at most, and the ranker never refuses a turn.
    """
    import numpy as np

    from recsys.session import DialogueKnowledge, SessionRanker

    data = training_interactions(catalog)
    pop = np.bincount(data.items, minlength=catalog.n_items).astype(np.float32)
    path = model_dir(catalog, settings) / DIALOGUES_FILE
    knowledge = DialogueKnowledge.load(path, catalog.n_items) if path.is_file() else None
    try:
        knn = load_recommender(catalog, settings, "itemknn")
    except ModelError:
        if catalog.n_items > KNN_IN_MEMORY_ITEMS:
            # too big to fit an item-kNN here: rank seeds by the MF model's item factors
            als = load_recommender(catalog, settings, DEFAULT_MODEL)
            return SessionRanker(None, pop, knowledge,
                                 factors=als.item_factors)  # type: ignore[attr-defined]
        knn = create("itemknn", **DEFAULT_PARAMS["itemknn"]).fit(data, progress=False)
    return SessionRanker(knn.similarity, pop, knowledge)  # type: ignore[attr-defined]
