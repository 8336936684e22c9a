"""Shared fixtures: a sealed data dir per test and tiny synthetic catalogs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from recsys.catalog import Catalog
from recsys.settings import Settings, get_settings
from recsys.synthetic import make_catalog

if TYPE_CHECKING:
    from tests.profiles.pgserver import PostgresServer

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _sealed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own data dir; no TASTEBUD_ setting leaks in from the shell."""
    for key in list(os.environ):
        if key.startswith("TASTEBUD_") and key != "TASTEBUD_MIRROR":
            monkeypatch.delenv(key)
    monkeypatch.setenv("TASTEBUD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture
def tiny_catalog() -> Catalog:
    """40 users, 60 items, 4 genres; users mostly like their own genre."""
    return make_catalog()


def mirror_path() -> Path:
    """The real datasets (CI sets TASTEBUD_MIRROR); fail in CI, skip elsewhere, when absent.
    A function too, for module-scoped fixtures that cannot take the ``mirror`` fixture."""
    path = os.environ.get("TASTEBUD_MIRROR")
    if path and Path(path).is_dir():
        return Path(path)
    if os.environ.get("CI"):
        pytest.fail("TASTEBUD_MIRROR is not set to the datasets directory in CI")
    pytest.skip("TASTEBUD_MIRROR not set")


@pytest.fixture
def mirror() -> Path:
    """The real datasets (see ``mirror_path``)."""
    return mirror_path()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 for the whole run; CI must have one, others skip."""
    from tests.profiles.pgserver import PostgresServer, require_bin_dir

    server = PostgresServer(require_bin_dir())
    try:
        yield server.start()
    finally:
        server.stop()
