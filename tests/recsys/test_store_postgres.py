"""The catalog store and SQL filters on a real PostgreSQL server (the same code as SQLite)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from recsys.db import driver_url, get_engine
from recsys.filters import filter_items
from recsys.store import load_catalog, save_catalog, stored_fingerprint
from recsys.synthetic import make_catalog
from tests.profiles.pgserver import PostgresServer, require_bin_dir


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    server = PostgresServer(require_bin_dir())
    try:
        yield server.start().new_database()
    finally:
        server.stop()


def test_plain_postgres_urls_use_psycopg3() -> None:
    assert driver_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert driver_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.postgres
def test_catalog_round_trip_and_filters(pg_url: str) -> None:
    cat = make_catalog(n_users=30, n_items=50)
    engine = get_engine(pg_url)
    save_catalog(engine, cat)
    save_catalog(engine, cat)  # idempotent replace
    assert stored_fingerprint(engine, cat.name) == cat.fingerprint
    back = load_catalog(engine, cat.name)
    assert back.item_ids == cat.item_ids and back.titles == cat.titles
    assert np.array_equal(back.years, cat.years)
    assert (back.attributes["genre"].matrix != cat.attributes["genre"].matrix).nnz == 0
    genre = cat.attributes["genre"].values[1]
    got = filter_items(engine, cat.name, include={"genre": [genre]}, year_min=1980)
    want = [i for i in range(cat.n_items) if genre in cat.item_attributes(i)["genre"]
            and cat.years[i] >= 1980]
    assert got.tolist() == want
