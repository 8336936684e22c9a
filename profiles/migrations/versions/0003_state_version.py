"""A version number on each session's dialogue state, for atomic read-modify-write.

Every change of ``profiles_session.state`` (a finished turn, a like, a list edit, from any
socket, tab or process) increments it, so a turn that ran on an older state can tell that
something else changed the state meanwhile and merge instead of overwriting it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NOT NULL with a constant server default: existing rows read 0; a plain ADD COLUMN on
    # SQLite and PostgreSQL (no table copy)
    op.add_column("profiles_session", sa.Column("state_version", sa.Integer(), nullable=False,
                                                server_default="0"))


def downgrade() -> None:
    op.drop_column("profiles_session", "state_version")
