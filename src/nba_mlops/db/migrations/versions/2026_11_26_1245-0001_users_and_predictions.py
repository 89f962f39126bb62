"""users and predictions

Revision ID: 0001
Revises:
Create Date: 2026-11-26 12:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('user', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "predictions",
        sa.Column("id", _big_id, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("input", _json, nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("label", sa.SmallInteger(), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_outcome", sa.SmallInteger(), nullable=True),
        sa.Column("verified_by", sa.Integer(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("label IN (0, 1)", name=op.f("ck_predictions_label")),
        sa.CheckConstraint(
            "verified_outcome IN (0, 1)", name=op.f("ck_predictions_verified_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_predictions_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["verified_by"],
            ["users.id"],
            name=op.f("fk_predictions_verified_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
    )
    op.create_index("ix_predictions_user_id_id", "predictions", ["user_id", "id"])
    op.create_index(
        "ix_predictions_unverified",
        "predictions",
        ["id"],
        postgresql_where=sa.text("verified_outcome IS NULL"),
        sqlite_where=sa.text("verified_outcome IS NULL"),
    )
    op.create_index(
        "ix_predictions_verified",
        "predictions",
        ["id"],
        postgresql_where=sa.text("verified_outcome IS NOT NULL"),
        sqlite_where=sa.text("verified_outcome IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_predictions_verified", table_name="predictions")
    op.drop_index("ix_predictions_unverified", table_name="predictions")
    op.drop_index("ix_predictions_user_id_id", table_name="predictions")
    op.drop_table("predictions")
    op.drop_table("users")
