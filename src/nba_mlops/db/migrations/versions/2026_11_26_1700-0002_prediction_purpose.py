"""prediction purpose: real shots apart from floor-map grid cells

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every stored prediction so far was asked for as a shot.
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(length=8), server_default="shot", nullable=False)
        )
        batch.create_check_constraint(op.f("ck_predictions_purpose"), "purpose IN ('shot', 'grid')")
    op.drop_index("ix_predictions_unverified", table_name="predictions")
    op.create_index(
        "ix_predictions_unverified",
        "predictions",
        ["id"],
        postgresql_where=sa.text("verified_outcome IS NULL AND purpose = 'shot'"),
        sqlite_where=sa.text("verified_outcome IS NULL AND purpose = 'shot'"),
    )


def downgrade() -> None:
    op.drop_index("ix_predictions_unverified", table_name="predictions")
    op.create_index(
        "ix_predictions_unverified",
        "predictions",
        ["id"],
        postgresql_where=sa.text("verified_outcome IS NULL"),
        sqlite_where=sa.text("verified_outcome IS NULL"),
    )
    with op.batch_alter_table("predictions") as batch:
        batch.drop_constraint(op.f("ck_predictions_purpose"), type_="check")
        batch.drop_column("purpose")
