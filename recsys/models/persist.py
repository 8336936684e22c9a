"""Save and load trained models: ``{name}.npz`` (plain arrays, no pickle) + ``{name}.json`` meta.

The meta records the catalog and its fingerprint, so a model trained on another version of a
catalog is refused instead of recommending the wrong items, and the npz's sha256, so a corrupt
or edited file is refused too.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.errors import ModelError, UnknownNameError
from recsys.models import available, create
from recsys.models.base import Recommender

FORMAT_VERSION = 1
_SEEN = "seen_"  # prefix of the training matrix arrays in the npz


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_atomic(path: Path, write: Any) -> None:
    """Write through a temp file in the same directory, then rename over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _retrain(name: str, catalog: str) -> str:
    return f"`tastebud train --catalog {catalog} --model {name}`"


def save_model(model: Recommender, directory: Path, *, catalog: str, fingerprint: str) -> Path:
    """Write the model's arrays and meta under ``directory``; returns the npz path."""
    if not model.is_fitted:
        raise ModelError(f"model '{model.name}' is not fitted; call fit() before saving it")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    seen = model.seen
    arrays = {**model.to_arrays(),
              f"{_SEEN}data": seen.data, f"{_SEEN}indices": seen.indices,
              f"{_SEEN}indptr": seen.indptr, f"{_SEEN}shape": np.array(seen.shape)}
    npz = directory / f"{model.name}.npz"
    _write_atomic(npz, lambda f: np.savez(f, **arrays))
    meta = {
        "format_version": FORMAT_VERSION, "model": model.name, "params": model.params,
        "catalog": catalog, "fingerprint": fingerprint,
        "n_users": model.n_users, "n_items": model.n_items,
        "trained_at": model.trained_at, "sha256": _sha256(npz),
    }
    # meta last: a reader that finds the meta finds the npz it describes
    _write_atomic(directory / f"{model.name}.json",
                  lambda f: f.write(json.dumps(meta, indent=2).encode()))
    return npz


def load_model(directory: Path, name: str, *, catalog: str, fingerprint: str) -> Recommender:
    """The model saved under ``directory``, checked against the catalog it must serve."""
    if name not in available():
        raise UnknownNameError("model", name, available())
    directory = Path(directory)
    npz, meta_path = directory / f"{name}.npz", directory / f"{name}.json"
    retrain = _retrain(name, catalog)
    if not npz.is_file() or not meta_path.is_file():
        raise ModelError(f"no trained '{name}' model for catalog {catalog} in {directory}; "
                         f"run {retrain}")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ModelError(f"model meta {meta_path} is unreadable ({e}); retrain with {retrain}"
                         ) from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"model file {npz} has format version {meta.get('format_version')!r}, this "
            f"Tastebud reads version {FORMAT_VERSION}; retrain with {retrain}")
    if meta.get("model") != name:
        raise ModelError(f"{meta_path} describes model '{meta.get('model')}', not '{name}'; "
                         f"retrain with {retrain}")
    if meta.get("catalog") != catalog or meta.get("fingerprint") != fingerprint:
        raise ModelError(
            f"model '{name}' was trained on catalog {meta.get('catalog')}@"
            f"{meta.get('fingerprint')} but the catalog is now {catalog}@{fingerprint}; "
            f"retrain with {retrain}")
    if _sha256(npz) != meta.get("sha256"):
        raise ModelError(f"model file {npz} fails its checksum (file corrupt or edited); "
                         f"retrain with {retrain}")
    with np.load(npz, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    model = create(name, **meta["params"])
    model.set_seen(sp.csr_matrix(
        (arrays.pop(f"{_SEEN}data"), arrays.pop(f"{_SEEN}indices"),
         arrays.pop(f"{_SEEN}indptr")), shape=tuple(arrays.pop(f"{_SEEN}shape"))))
    model.from_arrays(arrays)
    model.trained_at = meta.get("trained_at")
    return model
