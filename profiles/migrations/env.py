"""Alembic environment of the profiles tables (run through ``profiles.migrate``, not by hand).

Only tables named ``profiles_*`` are ours: the catalog tables may share the database and
autogenerate must neither drop nor alter them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from alembic import context
from sqlalchemy.engine import Connection

from profiles.migrate import VERSION_TABLE, include_name
from profiles.tables import PROFILES_METADATA, UtcDateTime

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our column types as plain SQLAlchemy ones, so revisions never import app code."""
    from sqlmodel.sql.sqltypes import AutoString

    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String({obj.length})" if obj.length else "sa.String()"
    return False


def configure(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=PROFILES_METADATA,
        version_table=VERSION_TABLE, include_name=include_name, render_item=render_item,
        compare_type=True, render_as_batch=True)  # batch: SQLite cannot ALTER most things


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:  # profiles.migrate hands in its transaction's connection
        configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from profiles.db import make_engine

    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            configure(conn)
            context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("profiles migrations run online only: use profiles.migrate.upgrade")
run()
