"""The profiles engine: SQLite pragmas, the configured database URL, concurrent writers."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from profiles import migrate
from profiles.db import get_profile_engine, make_engine, normalize_url, open_store
from profiles.store import ProfileStore
from recsys.settings import Settings, get_settings


@pytest.fixture
def _fresh_engines() -> Iterator[None]:
    """No engine cached by another test; the tests dispose the ones they open."""
    get_profile_engine.cache_clear()
    yield
    get_profile_engine.cache_clear()


def test_sqlite_gets_wal_foreign_keys_and_full_sync(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'p.db'}")  # parent dir is created
    try:
        with engine.connect() as conn:
            pragma = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                      for p in ("journal_mode", "foreign_keys", "synchronous")}
    finally:
        engine.dispose()
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 2}  # 2 = FULL


@pytest.mark.parametrize(("url", "want"), [
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgres://u:p@h:5/db", "postgresql+psycopg://u:p@h:5/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_plain_postgres_urls_use_psycopg3(url: str, want: str) -> None:
    assert normalize_url(url) == want


def test_default_store_is_the_sqlite_file_in_the_data_dir(settings: Settings,
                                                          _fresh_engines: None) -> None:
    store = open_store()
    try:
        user, token = store.create_user("Ann")
        assert (settings.data_dir / "tastebud.db").is_file()
        assert migrate.current(store.engine) == migrate.head()
        assert open_store().authenticate(token) == user  # the same database again
    finally:
        store.engine.dispose()


def test_db_url_setting_selects_the_database(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                             _fresh_engines: None) -> None:
    monkeypatch.setenv("TASTEBUD_DB_URL", db_url)  # plain postgresql://, as a user writes it
    get_settings.cache_clear()
    store = open_store()
    try:
        user, token = store.create_user("Ann")
        assert store.authenticate(token) == user
        assert migrate.current(db_url) == migrate.head()
    finally:
        store.engine.dispose()


def test_concurrent_writers_do_not_collide(store: ProfileStore) -> None:
    """Read-then-write transactions from many connections at once (a server's threads)."""
    user = store.create_user("Ann")[0]
    sessions = [store.create_session(user.id, "c").id for _ in range(4)]

    def chat(session_id: int) -> None:
        for i in range(15):
            store.add_message(user.id, session_id, "user", f"message {i}")
            store.add_feedback(user.id, item_id=str(i), kind="seen", session_id=session_id)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(chat, sessions))
    assert [len(store.history(user.id, s)) for s in sessions] == [15] * 4
    assert len(store.feedback_for(user.id)) == 60
