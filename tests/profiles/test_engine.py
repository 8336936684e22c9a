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


def test_default_store_is_its_own_sqlite_file_in_the_data_dir(settings: Settings,
                                                              _fresh_engines: None) -> None:
    store = open_store()
    try:
        user, token = store.create_user("Ann")
        assert (settings.data_dir / "profiles.db").is_file()
        assert not (settings.data_dir / "tastebud.db").exists()  # the catalogs' file
        assert migrate.current(store.engine) == migrate.head()
        assert open_store().authenticate(token) == user  # the same database again
    finally:
        store.engine.dispose()


def test_db_url_setting_selects_the_database(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                             _fresh_engines: None) -> None:
    monkeypatch.setenv("TASTEBUD_PROFILES_DB_URL", db_url)  # plain postgresql:// as written
    get_settings.cache_clear()
    store = open_store()
    try:
        user, token = store.create_user("Ann")
        assert store.authenticate(token) == user
        assert migrate.current(db_url) == migrate.head()
    finally:
        store.engine.dispose()


def test_a_sqlite_catalogs_file_does_not_hold_the_profiles(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setenv("TASTEBUD_DB_URL", f"sqlite:///{tmp_path / 'cat.db'}")
    get_settings.cache_clear()
    assert get_settings().profiles_url == f"sqlite:///{get_settings().data_dir / 'profiles.db'}"
    pg = "postgresql://tb@127.0.0.1/tb"  # a server holds both: row locks keep them apart
    monkeypatch.setenv("TASTEBUD_DB_URL", pg)
    get_settings.cache_clear()
    assert get_settings().profiles_url == pg


def test_profiles_kept_in_the_catalogs_file_move_to_their_own_once(
        settings: Settings, _fresh_engines: None) -> None:
    """A data dir from before 0.2: users, chats and feedback in tastebud.db."""
    from profiles.db import move_shared_profiles

    old = make_engine(settings.database_url)
    migrate.upgrade(old, "0002")  # an older schema too: brought to head before the copy
    old.dispose()
    old_store = ProfileStore(get_profile_engine(settings.database_url))
    user, token = old_store.create_user("Ann")
    sess = old_store.create_session(user.id, "movies", state={"liked": ["1"]})
    old_store.add_feedback(user.id, item_id="1", kind="like", session_id=sess.id)
    old_store.engine.dispose()
    store = open_store(settings)
    try:
        assert (settings.data_dir / "profiles.db").is_file()
        assert store.authenticate(token) == user
        assert store.get_state(user.id, sess.id) == {"liked": ["1"]}
        assert [f.item_id for f in store.feedback_for(user.id)] == ["1"]
        assert migrate.current(store.engine) == migrate.head()
        store.create_user("Bob")  # ids go on after the copied rows
        assert move_shared_profiles(settings) is None  # once: the new file exists
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
