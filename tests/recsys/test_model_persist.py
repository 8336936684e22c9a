"""Saving and loading models: identical results, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recsys.catalog import Catalog
from recsys.errors import ModelError
from recsys.models import available, create
from recsys.models.persist import load_model, save_model
from tests.recsys.test_recommender_contract import FAST


@pytest.mark.parametrize("name", available())
def test_round_trip_recommends_identically(name: str, tiny_catalog: Catalog,
                                           tmp_path: Path) -> None:
    model = create(name, **FAST[name]).fit(tiny_catalog.interactions, progress=False)
    save_model(model, tmp_path, catalog="tiny", fingerprint="abc")
    loaded = load_model(tmp_path, name, catalog="tiny", fingerprint="abc")
    assert loaded.params == model.params
    for u in (0, 5, 17):
        a, b = model.recommend(u, 10), loaded.recommend(u, 10)
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_allclose(a.scores, b.scores)
    np.testing.assert_array_equal(model.similar_items(3, 5).ids, loaded.similar_items(3, 5).ids)
    assert not list(tmp_path.glob(".*tmp")), "no temp files left behind"


@pytest.fixture
def saved(tiny_catalog: Catalog, tmp_path: Path) -> Path:
    model = create("als", **FAST["als"]).fit(tiny_catalog.interactions, progress=False)
    save_model(model, tmp_path, catalog="tiny", fingerprint="abc")
    return tmp_path


def test_corrupt_file_fails_its_checksum(saved: Path) -> None:
    npz = saved / "als.npz"
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="fails its checksum.*tastebud train --catalog tiny"):
        load_model(saved, "als", catalog="tiny", fingerprint="abc")


def test_model_of_another_catalog_version_is_refused(saved: Path) -> None:
    with pytest.raises(ModelError, match="trained on catalog tiny@abc but the catalog is now "
                                         "tiny@def"):
        load_model(saved, "als", catalog="tiny", fingerprint="def")


def test_missing_model_and_unknown_format(saved: Path) -> None:
    with pytest.raises(ModelError, match="no trained 'bpr' model for catalog tiny"):
        load_model(saved, "bpr", catalog="tiny", fingerprint="abc")
    meta = json.loads((saved / "als.json").read_text())
    (saved / "als.json").write_text(json.dumps(meta | {"format_version": 99}))
    with pytest.raises(ModelError, match="format version 99"):
        load_model(saved, "als", catalog="tiny", fingerprint="abc")


def test_unfitted_model_cannot_be_saved(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not fitted"):
        save_model(create("als"), tmp_path, catalog="tiny", fingerprint="abc")
