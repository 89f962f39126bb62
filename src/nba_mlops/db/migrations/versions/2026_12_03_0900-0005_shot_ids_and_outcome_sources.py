"""predictions tied to real shots; shot outcomes from the data; labelers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:00:00

``predictions.game_id`` / ``game_event_id`` hold the NBA's ids of the shot asked about
(indexed where present). ``shot_outcomes`` holds the real outcome of such shots, recorded
by the ingest that brought each one: the data's outcome of every prediction with those
ids. A person's label stays in the prediction's ``verified_*`` columns, with the
labeller's role at the time in ``verified_role``; neither overwrites the other.
``origin`` says who asked (``api`` or the ``daily`` loop) and ``run`` which daily file.
Users may now have the role ``labeler``.

Existing rows: ids are copied from the stored input where it has them, and the role of
whoever verified a prediction is filled in.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GAME_SHOT_WHERE = "game_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_role"), "role IN ('user', 'labeler', 'admin')")

    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("game_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("game_event_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("verified_role", sa.String(length=10), nullable=True))
        batch.add_column(
            sa.Column("origin", sa.String(length=8), server_default="api", nullable=False)
        )
        batch.add_column(sa.Column("run", sa.String(length=120), nullable=True))
        batch.create_check_constraint(op.f("ck_predictions_origin"), "origin IN ('api', 'daily')")

    op.create_table(
        "shot_outcomes",
        sa.Column("game_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("game_event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("made", sa.SmallInteger(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("made IN (0, 1)", name=op.f("ck_shot_outcomes_made")),
        sa.PrimaryKeyConstraint("game_id", "game_event_id", name=op.f("pk_shot_outcomes")),
    )

    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        game, event = "input->>'game_id'", "input->>'game_event_id'"
        connection.execute(
            sa.text(
                f"UPDATE predictions SET game_id = ({game})::bigint, "
                f"game_event_id = ({event})::integer "
                f"WHERE {game} ~ '^[0-9]{{1,12}}$' AND {event} ~ '^[0-9]{{1,6}}$'"
            )
        )
    else:
        game, event = "json_extract(input, '$.game_id')", "json_extract(input, '$.game_event_id')"
        connection.execute(
            sa.text(
                f"UPDATE predictions SET game_id = {game}, game_event_id = {event} "
                f"WHERE typeof({game}) = 'integer' AND typeof({event}) = 'integer' "
                f"AND {game} >= 0 AND {event} BETWEEN 0 AND 999999"
            )
        )
    connection.execute(
        sa.text(
            "UPDATE predictions SET verified_role = "
            "(SELECT role FROM users WHERE users.id = predictions.verified_by) "
            "WHERE verified_outcome IS NOT NULL"
        )
    )
    op.create_index(
        "ix_predictions_game_shot",
        "predictions",
        ["game_id", "game_event_id"],
        postgresql_where=sa.text(_GAME_SHOT_WHERE),
        sqlite_where=sa.text(_GAME_SHOT_WHERE),
    )


def downgrade() -> None:
    op.drop_index("ix_predictions_game_shot", table_name="predictions")
    op.drop_table("shot_outcomes")
    # A labeler becomes a normal user: the older schema knows no other role.
    op.get_bind().execute(sa.text("UPDATE users SET role = 'user' WHERE role = 'labeler'"))
    with op.batch_alter_table("predictions") as batch:
        batch.drop_constraint(op.f("ck_predictions_origin"), type_="check")
        for column in ("run", "origin", "verified_role", "game_event_id", "game_id"):
            batch.drop_column(column)
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_role"), "role IN ('user', 'admin')")
