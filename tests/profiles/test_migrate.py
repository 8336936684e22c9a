"""Alembic migrations: start-up upgrade keeps data, is idempotent, and matches tables.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, text
from sqlalchemy.engine import Engine

from profiles import migrate
from profiles.db import make_engine
from profiles.errors import MigrationError
from profiles.store import ProfileStore, hash_token
from profiles.tables import PROFILES_METADATA

# A later revision as a developer would write it, in batch mode that copies the table into a
# new one on SQLite (as any column change beyond ADD COLUMN does), here on profiles_user, the
# parent of every other table: with foreign keys on, dropping the old copy would cascade.
EXTRA_REVISION = '''
import sqlalchemy as sa
from alembic import op

revision = "test_extra"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("profiles_user") as batch:
        batch.alter_column("name", type_=sa.String(120), existing_nullable=False)
        batch.add_column(sa.Column("locale", sa.String(16), nullable=False,
                                   server_default="en"))


def downgrade() -> None:
    with op.batch_alter_table("profiles_user") as batch:
        batch.drop_column("locale")
        batch.alter_column("name", type_=sa.String(100), existing_nullable=False)
'''


def _fill(store: ProfileStore) -> dict[str, object]:
    """Some rows in every table; returns what reading them back must give."""
    user, token = store.create_user("Ann")
    sess = store.create_session(user.id, "movielens-small")
    store.add_message(user.id, sess.id, "user", "something like Alien", items=["1"])
    store.add_feedback(user.id, item_id="1", kind="rating", rating=4.0, session_id=sess.id)
    store.add_list_edit(user.id, shown=["1", "2"], edited=["2"], session_id=sess.id)
    store.add_preference(user.id, "likes sci-fi", source="edit")
    store.save_state(user.id, sess.id, {"shown": ["2"], "liked": ["1"], "pending": None})
    return _read(store, token)


def _read(store: ProfileStore, token: str) -> dict[str, object]:
    user = store.authenticate(token)
    sess = store.list_sessions(user.id)
    return {"user": user, "sessions": sess, "history": store.history(user.id, sess[0].id),
            "state": store.get_state(user.id, sess[0].id),
            "feedback": store.feedback_for(user.id), "edits": store.list_edits_for(user.id),
            "profile": store.profile(user.id), "token": token}


def test_fresh_database_is_brought_to_head(db_url: str) -> None:
    assert migrate.current(db_url) is None
    assert migrate.upgrade(db_url) == migrate.head() == migrate.current(db_url)
    engine = make_engine(db_url)
    try:
        names = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert names == set(PROFILES_METADATA.tables) | {migrate.VERSION_TABLE}


def test_upgrade_is_idempotent_and_keeps_data(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        before = _fill(ProfileStore(engine))
        assert migrate.upgrade(engine) == migrate.head()
        assert migrate.upgrade(db_url) == migrate.head()  # from a URL too
        assert _read(ProfileStore(engine), str(before["token"])) == before
    finally:
        engine.dispose()


def test_a_later_revision_keeps_every_row(db_url: str, tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "test_extra.py").write_text(EXTRA_REVISION.format(head=migrate.head()))
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        before = _fill(ProfileStore(engine))
        assert migrate.upgrade(engine, extra_versions=[versions]) == "test_extra"
        assert _read(ProfileStore(engine), str(before["token"])) == before
        with engine.connect() as conn:
            assert conn.execute(text("SELECT locale FROM profiles_user")).scalar() == "en"
            if engine.dialect.name == "sqlite":  # foreign keys are enforced again afterwards
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def _columns(engine: Engine, table: str) -> list[str]:
    return [c["name"] for c in inspect(engine).get_columns(table)]


def test_0002_keeps_the_rows_of_0001_and_adds_an_empty_state(db_url: str) -> None:
    """A database written by the first release (no session state) upgrades without loss."""
    tables = PROFILES_METADATA.tables
    when = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
    token = "tb_" + "a" * 43
    engine = make_engine(db_url)
    try:
        assert migrate.upgrade(engine, "0001") == "0001"
        assert "state" not in _columns(engine, "profiles_session")
        with engine.begin() as conn:  # the rows as the 0001 code wrote them (no state column)
            user_t, sess_t = tables["profiles_user"], tables["profiles_session"]
            uid = conn.execute(insert(user_t).values(
                name="Ann", token_hash=hash_token(token), created_at=when
            ).returning(user_t.c.id)).scalar_one()
            sid = conn.execute(insert(sess_t).values(
                user_id=uid, catalog="movielens-small", title="Friday", created_at=when,
                updated_at=when).returning(sess_t.c.id)).scalar_one()
            conn.execute(insert(tables["profiles_message"]).values(
                session_id=sid, role="user", text="hi", tool_trace=[], items=["1"],
                created_at=when))
        assert migrate.upgrade(engine) == migrate.head()
        assert "state" in _columns(engine, "profiles_session")
        assert migrate.diff(engine) == []
        store = ProfileStore(engine)
        user = store.authenticate(token)
        assert (user.id, user.name, user.created_at) == (uid, "Ann", when)
        [sess] = store.list_sessions(uid)
        assert (sess.id, sess.catalog, sess.title, sess.created_at, sess.updated_at) == (
            sid, "movielens-small", "Friday", when, when)
        assert [(m.role, m.text, m.items) for m in store.history(uid, sid)] == [
            ("user", "hi", ["1"])]
        assert store.get_state(uid, sid) is None
        with engine.connect() as conn:  # SQL NULL, not a JSON null
            assert conn.execute(text(
                "SELECT count(*) FROM profiles_session WHERE state IS NULL")).scalar() == 1
        store.save_state(uid, sid, {"shown": ["1"]})  # and the new column works
        assert store.get_state(uid, sid) == {"shown": ["1"]}
    finally:
        engine.dispose()


def test_0003_gives_existing_states_version_zero(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine, "0002")
        when = datetime(2026, 11, 30, tzinfo=UTC)
        with engine.begin() as conn:  # a session as the 0002 code wrote it, with a state
            tables = PROFILES_METADATA.tables
            uid = conn.execute(insert(tables["profiles_user"]).values(
                name="Ann", token_hash="h" * 64, created_at=when
            ).returning(tables["profiles_user"].c.id)).scalar_one()
            conn.execute(text(
                "INSERT INTO profiles_session (user_id, catalog, title, created_at, updated_at,"
                " state) VALUES (:u, 'movies', '', :w, :w, :s)"),
                {"u": uid, "w": when, "s": '{"liked": ["1"]}'})
        migrate.upgrade(engine)
        store = ProfileStore(engine)
        [sess] = store.list_sessions(uid)
        got = store.read_state(uid, sess.id)
        assert (got.state, got.version) == ({"liked": ["1"]}, 0)
        assert store.update_state(uid, sess.id, lambda st: st or {}).version == 1
    finally:
        engine.dispose()


def test_0002_downgrades_without_losing_rows(db_url: str) -> None:
    from alembic import command

    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        store = ProfileStore(engine)
        before = _fill(store)
        migrate._with_connection(  # what upgrade does, the other way
            engine, True, lambda conn: command.downgrade(migrate._config(conn), "0001"),
            foreign_keys_off=True)
        assert migrate.current(engine) == "0001"
        assert "state" not in _columns(engine, "profiles_session")
        with engine.connect() as conn:
            for table, n in [("user", 1), ("session", 1), ("message", 1), ("feedback", 1),
                             ("list_edit", 1), ("preference", 1)]:
                assert conn.execute(text(f"SELECT count(*) FROM profiles_{table}")).scalar() == n
        migrate.upgrade(engine)
        after = _read(store, str(before["token"]))
        assert after == {**before, "state": None}  # the state went with the column
    finally:
        engine.dispose()


def test_migrations_match_the_models(db_url: str) -> None:
    """Fails when tables.py changed without a migration: run `python -m profiles.migrate
    revision -m "..."` and review the file it writes."""
    migrate.upgrade(db_url)
    assert migrate.diff(db_url) == []


def test_the_check_notices_a_missing_migration(db_url: str) -> None:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_profiles_preference_user_id"))
        diffs = migrate.diff(engine)
    finally:
        engine.dispose()
    assert [d[0] for d in diffs] == ["add_index"]


def test_a_database_from_a_newer_version_is_a_clear_error(db_url: str) -> None:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = 'ffff'"))
        with pytest.raises(MigrationError, match="newer Tastebud"):
            migrate.upgrade(engine)
    finally:
        engine.dispose()


def test_concurrent_start_ups_migrate_once(db_url: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        revs = list(pool.map(lambda _: migrate.upgrade(db_url), range(4)))
    assert revs == [migrate.head()] * 4


def test_catalog_tables_in_the_same_database_are_left_alone(tmp_path: Path) -> None:
    from recsys.db import get_engine

    url = f"sqlite:///{tmp_path / 'tastebud.db'}"
    catalog_engine = get_engine(url)  # create_all of the catalog tables
    assert not [t for t in inspect(catalog_engine).get_table_names() if t.startswith("profiles")]
    migrate.upgrade(url)
    assert migrate.diff(url) == []  # catalog tables are not ours to drop
    assert "catalog" in inspect(catalog_engine).get_table_names()
    get_engine.cache_clear()
    catalog_engine.dispose()


def test_check_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert migrate.main(["check"]) == 0
    assert "migrations match" in capsys.readouterr().out


def test_migration_files_ship_in_the_package() -> None:
    root = files("profiles") / "migrations"
    for name in ("env.py", "script.py.mako", "versions/0001_initial.py",
                 "versions/0002_session_state.py"):
        assert (root / name).is_file(), name


def test_a_migration_that_orphans_rows_is_rolled_back_on_sqlite(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    bad = EXTRA_REVISION.format(head=migrate.head()).replace(
        '    with op.batch_alter_table("profiles_user") as batch:\n',
        '    op.execute("DELETE FROM profiles_user")\n'
        '    with op.batch_alter_table("profiles_user") as batch:\n', 1)
    (versions / "bad.py").write_text(bad)
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        migrate.upgrade(engine)
        before = _fill(ProfileStore(engine))
        with pytest.raises(MigrationError, match=r"row\(s\) pointing at missing rows"):
            migrate.upgrade(engine, extra_versions=[versions])
        assert migrate.current(engine) == migrate.head()
        assert _read(ProfileStore(engine), str(before["token"])) == before
    finally:
        engine.dispose()
