"""Fixtures: every profiles test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from profiles.db import make_engine
from profiles.migrate import upgrade
from profiles.store import ProfileStore
from profiles.tables import PROFILES_METADATA
from tests.profiles.pgserver import PostgresServer


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file in the test's temp dir, or a new PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'profiles.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()


@pytest.fixture(scope="session")
def _pg_migrated(postgres_server: PostgresServer) -> Iterator[Engine]:
    """One PostgreSQL database at head, emptied before each store test (a new one is slower)."""
    engine = make_engine(postgres_server.new_database())
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(backend: str, request: pytest.FixtureRequest, tmp_path: Path
          ) -> Iterator[ProfileStore]:
    """A store on an empty database at the latest migration."""
    if backend == "postgresql":
        engine: Engine = request.getfixturevalue("_pg_migrated")
        tables = ", ".join(PROFILES_METADATA.tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        yield ProfileStore(engine)
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'profiles.db'}")
    upgrade(engine)
    yield ProfileStore(engine)
    engine.dispose()
