"""The profiles engine: SQLite (WAL, foreign keys, synchronous=FULL) or PostgreSQL via psycopg 3.

The database is the one ``Settings.profiles_url`` names (``TASTEBUD_PROFILES_DB_URL``; by
default the SQLite file ``profiles.db`` in the data dir). It is not the catalogs' SQLite file:
SQLite has one writer per file, and a catalog import holds that lock for minutes, so a like
sent meanwhile would wait and fail. On a server (PostgreSQL) both may share one database: the
profiles tables have their own names, metadata and migration history.
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

    settings = settings or get_settings()
    move_shared_profiles(settings)
    return ProfileStore(get_profile_engine(settings.profiles_url),
                        token_idle_days=settings.server.token_idle_days)


def _sqlite_path(url: str) -> Path | None:
    url = normalize_url(url)
    path = url.removeprefix("sqlite:///")
    return None if path == url or not path or path.startswith(":memory:") else Path(path)


def move_shared_profiles(settings: Settings) -> Path | None:
    """Copy the profiles a release before 0.2 kept in the catalogs' SQLite file into their
    own file, once; returns the new file when it copied.

    Runs only when the profiles database is the default file, which does not exist yet, and
    the catalogs' file holds profiles tables. The copy is written to a temporary file and
    renamed into place, so an interrupted move leaves nothing half-copied and runs again.
    The old tables stay where they were (nothing reads them any more).
    """
    import logging
    import sqlite3

    new, old = _sqlite_path(settings.profiles_url), _sqlite_path(settings.database_url)
    if settings.profiles_db_url or new is None or old is None or new.exists() \
            or not old.is_file():
        return None
    with sqlite3.connect(old) as conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND "
                        "name='profiles_user'").fetchone() is None:
            return None
    from profiles.migrate import upgrade
    from profiles.tables import PROFILES_METADATA

    engine = make_engine(settings.database_url)  # the old tables at head: the new columns
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    tmp = new.with_name(new.name + ".moving")
    tmp.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{tmp}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("ATTACH DATABASE ? AS old", (str(old),))
        conn.execute("BEGIN")
        for table in PROFILES_METADATA.sorted_tables:  # parents before children
            cols = ", ".join(f'"{r[1]}"' for r in conn.execute(
                f'PRAGMA main.table_info("{table.name}")'))
            conn.execute(f'INSERT INTO main."{table.name}" ({cols}) '
                         f'SELECT {cols} FROM old."{table.name}"')
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE old")
    finally:
        conn.close()
    tmp.replace(new)
    logging.getLogger(__name__).warning(
        "moved users, chats and feedback from %s into their own file %s", old, new)
    return new
