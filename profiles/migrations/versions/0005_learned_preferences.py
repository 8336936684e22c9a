"""What a learned preference is made of: the catalog it speaks of, its rule (catalog fields
and values), the edit it came from, and the context's embedding for retrieval.

All nullable: statements a user typed have none of them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = ("catalog", "rule", "evidence", "context_vector")


def upgrade() -> None:
    op.add_column("profiles_preference", sa.Column("catalog", sa.String(100), nullable=True))
    for name in _COLUMNS[1:]:
        op.add_column("profiles_preference", sa.Column(name, sa.JSON(), nullable=True))


def downgrade() -> None:
    for name in _COLUMNS:
        op.drop_column("profiles_preference", name)
