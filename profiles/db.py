"""The profiles engine: SQLite (WAL, foreign keys, synchronous=FULL) or PostgreSQL via psycopg 3.

The database is the one ``Settings.database_url`` names (``TASTEBUD_DB_URL``; by default the
SQLite file ``tastebud.db`` in the data dir), shared with the catalog tables: the profiles
tables have their own names, metadata and migration history, so neither side touches the other.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from profiles.store import ProfileStore
    from recsys.settings import Settings

# Execution option that makes a SQLite transaction take the write lock at BEGIN: a deferred
# transaction that reads and then writes can fail with "database is locked" at once, without
# waiting, when another connection wrote in between (WAL snapshot conflict).
WRITE_OPTION = "profiles_write"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def make_engine(url: str) -> Engine:
    """A new engine for ``url``; the schema is not touched (see ``get_profile_engine``)."""
    from sqlalchemy import create_engine, event

    url = normalize_url(url)
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    path = url.removeprefix("sqlite:///")
    if path and path != url and not path.startswith(":memory:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _begin)
        cur = dbapi_conn.cursor()
        _wal(cur)
        cur.execute("PRAGMA foreign_keys=ON")
        # FULL: in WAL mode NORMAL may lose the last commits on power loss or an OS crash;
        # feedback the UI has acknowledged must survive that, at one WAL fsync per write.
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # type: ignore[no-untyped-def]
        write = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _wal(cur: Any, attempts: int = 50) -> None:
    """Put the database in WAL mode (persistent, so usually already done).

    Switching needs the database to itself, and SQLite answers "database is locked" at once
    instead of waiting when several processes or threads open a new file together; retry.
    """
    import sqlite3
    import time

    for k in range(attempts):
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or k == attempts - 1:
                raise
            time.sleep(0.05 + 0.01 * k)


@lru_cache(maxsize=8)
def get_profile_engine(url: str) -> Engine:
    """One engine per URL, its schema brought to the latest migration first."""
    from profiles.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    return engine


def open_store(settings: Settings | None = None) -> ProfileStore:
    """The profile store on the configured database, migrated to head (call at start-up)."""
    from profiles.store import ProfileStore
    from recsys.settings import get_settings

    return ProfileStore(get_profile_engine((settings or get_settings()).database_url))
