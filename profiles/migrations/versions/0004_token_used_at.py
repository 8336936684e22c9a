"""When each sign-in token was last used (or issued), so unused tokens can expire.

NULL for accounts from before: their token counts as used at sign-up (``created_at``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("profiles_user", sa.Column("token_used_at", sa.DateTime(timezone=True),
                                             nullable=True))


def downgrade() -> None:
    op.drop_column("profiles_user", "token_used_at")
