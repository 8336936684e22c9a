"""The dialogue state of a chat session: a nullable JSON column on profiles_session.

It used to live in the web server's own table (``ui_conversation_states``, outside these
migrations); existing sessions start with no state (NULL), as a new session does.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a nullable column without a default: a plain ALTER TABLE ... ADD COLUMN on every dialect
    # (no table copy on SQLite), and every existing row reads NULL
    op.add_column("profiles_session", sa.Column("state", sa.JSON(), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place; a batch copy would have to drop the old
    # profiles_session, and with foreign keys on that would cascade to the messages
    op.drop_column("profiles_session", "state")
