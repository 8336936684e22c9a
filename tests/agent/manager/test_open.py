"""``Manager.open`` after a catalog was imported again: it retrains, it does not refuse."""

from __future__ import annotations

import json
from pathlib import Path

from agent.manager import Manager
from recsys.catalog import Catalog
from recsys.db import get_engine
from recsys.importer import import_catalog
from recsys.serving import model_dir, untrained
from recsys.settings import Settings
from recsys.store import load_catalog
from tests.recsys.catalog_files import RATINGS, write_tiny


def _stored(settings: Settings) -> Catalog:
    return load_catalog(get_engine(settings.database_url), "tiny")


def test_a_changed_catalog_is_retrained_on_open(tmp_path: Path, settings: Settings) -> None:
    settings.embedding_model = "hashing-64"
    spec = write_tiny(tmp_path)
    import_catalog(spec, settings)
    first = Manager.open("tiny", settings, progress=False)
    assert untrained(first.catalog, settings) == []
    (tmp_path / "ratings.csv").write_text(RATINGS + "3,1,4.5,964983000\n")
    again = import_catalog(spec, settings)
    assert again.status != "unchanged" and again.fingerprint != first.catalog.fingerprint
    assert untrained(_stored(settings), settings) == [
        "als", "popularity", "itemknn"]
    second = Manager.open("tiny", settings, progress=False)  # used to raise ModelError
    assert second.catalog.fingerprint == again.fingerprint
    meta = json.loads((model_dir(second.catalog, settings) / "als.json").read_text())
    assert meta["fingerprint"] == again.fingerprint
    assert untrained(second.catalog, settings) == []
