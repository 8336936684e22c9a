"""Initial profiles schema: users, sessions, messages, feedback, list edits, preferences.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["user_id"], ["profiles_user.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_user_id_profiles_user")


def upgrade() -> None:
    op.create_table(
        "profiles_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_profiles_user"),
        sa.UniqueConstraint("token_hash", name="uq_profiles_user_token_hash"),
    )
    op.create_table(
        "profiles_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("catalog", sa.String(100), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_profiles_session"),
        _user_fk("profiles_session"),
    )
    op.create_index("ix_profiles_session_user", "profiles_session", ["user_id", "updated_at"])
    op.create_table(
        "profiles_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tool_trace", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_profiles_message"),
        sa.ForeignKeyConstraint(["session_id"], ["profiles_session.id"], ondelete="CASCADE",
                                name="fk_profiles_message_session_id_profiles_session"),
        sa.CheckConstraint("role IN ('user', 'assistant')", name="ck_profiles_message_role"),
    )
    op.create_index("ix_profiles_message_session", "profiles_message", ["session_id", "id"])
    op.create_table(
        "profiles_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("catalog", sa.String(100), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rating", sa.Float(), nullable=True),
        sa.Column("critique", sa.Text(), nullable=True),
        sa.Column("shown", sa.JSON(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_profiles_feedback"),
        _user_fk("profiles_feedback"),
        sa.ForeignKeyConstraint(["session_id"], ["profiles_session.id"], ondelete="SET NULL",
                                name="fk_profiles_feedback_session_id_profiles_session"),
        sa.CheckConstraint("kind IN ('like', 'dislike', 'seen', 'rating', 'critique')",
                           name="ck_profiles_feedback_kind"),
        sa.CheckConstraint("rating IS NULL OR (rating >= 0.5 AND rating <= 5)",
                           name="ck_profiles_feedback_rating"),
    )
    op.create_index("ix_profiles_feedback_user", "profiles_feedback",
                    ["user_id", "catalog", "item_id"])
    op.create_index("ix_profiles_feedback_session_id", "profiles_feedback", ["session_id"])
    op.create_table(
        "profiles_list_edit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("catalog", sa.String(100), nullable=False),
        sa.Column("shown", sa.JSON(), nullable=False),
        sa.Column("edited", sa.JSON(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_profiles_list_edit"),
        _user_fk("profiles_list_edit"),
        sa.ForeignKeyConstraint(["session_id"], ["profiles_session.id"], ondelete="SET NULL",
                                name="fk_profiles_list_edit_session_id_profiles_session"),
    )
    op.create_index("ix_profiles_list_edit_user_id", "profiles_list_edit", ["user_id"])
    op.create_index("ix_profiles_list_edit_session_id", "profiles_list_edit", ["session_id"])
    op.create_table(
        "profiles_preference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("context", sa.Text(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_profiles_preference"),
        _user_fk("profiles_preference"),
        sa.CheckConstraint("source IN ('edit', 'feedback', 'user')",
                           name="ck_profiles_preference_source"),
    )
    op.create_index("ix_profiles_preference_user_id", "profiles_preference", ["user_id"])


def downgrade() -> None:
    for table in ("profiles_preference", "profiles_list_edit", "profiles_feedback",
                  "profiles_message", "profiles_session", "profiles_user"):
        op.drop_table(table)
