"""online feature tables: the shot history as of the last ingest, for the API

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "online_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data_version", sa.String(length=64), nullable=False),
        sa.Column("feature_version", sa.String(length=16), nullable=False),
        sa.Column("latest_season", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_online_snapshot")),
    )
    op.create_table(
        "online_tallies",
        sa.Column("tally", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("season", sa.Integer(), nullable=False),
        sa.Column("n", sa.Float(), nullable=False),
        sa.Column("made", sa.Float(), nullable=False),
        sa.Column("excess", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tally", "key", name=op.f("pk_online_tallies")),
    )
    op.create_table(
        "online_league",
        sa.Column("season", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=120), nullable=False),
        sa.Column("n", sa.Float(), nullable=False),
        sa.Column("made", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("season", "zone", "action", name=op.f("pk_online_league")),
    )
    op.create_table(
        "online_game_shots",
        sa.Column("game_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("game_event_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("period", sa.SmallInteger(), nullable=False),
        sa.Column("clock", sa.Integer(), nullable=False),
        sa.Column("player_id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("made", sa.SmallInteger(), nullable=True),
        sa.Column("three", sa.Boolean(), nullable=False),
        sa.Column("distance", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("game_id", "game_event_id", name=op.f("pk_online_game_shots")),
    )


def downgrade() -> None:
    op.drop_table("online_game_shots")
    op.drop_table("online_league")
    op.drop_table("online_tallies")
    op.drop_table("online_snapshot")
