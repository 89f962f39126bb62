"""predictions tied to real shots; outcomes from the data or from a person; labelers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:00:00

``predictions.game_id`` / ``game_event_id`` hold the NBA's ids of the shot asked about
(indexed where present): the ingest that brings the shot records its outcome with
``verified_source = 'data'``. A person's label is ``verified_source = 'user'`` and is
also kept in ``label_outcome``, ``label_by``, ``label_role`` and ``label_at``, which the
data's outcome never overwrites. ``origin`` says who asked (``api`` or the ``daily``
loop) and ``run`` which daily file. Users may now have the role ``labeler``.

Existing rows: ids are copied from the stored input where it has them; every existing
outcome was a person's (``user``), and its label columns are filled from it.
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
        batch.add_column(sa.Column("verified_source", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("label_outcome", sa.SmallInteger(), nullable=True))
        batch.add_column(sa.Column("label_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("label_role", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("label_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("origin", sa.String(length=8), server_default="api", nullable=False)
        )
        batch.add_column(sa.Column("run", sa.String(length=120), nullable=True))
        batch.create_foreign_key(
            op.f("fk_predictions_label_by_users"),
            "users",
            ["label_by"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_check_constraint(
            op.f("ck_predictions_verified_source"), "verified_source IN ('data', 'user')"
        )
        batch.create_check_constraint(
            op.f("ck_predictions_label_outcome"), "label_outcome IN (0, 1)"
        )
        batch.create_check_constraint(op.f("ck_predictions_origin"), "origin IN ('api', 'daily')")

    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        game, event = "input->>'game_id'", "input->>'game_event_id'"
        whole = "~ '^[0-9]{1,12}$'"
        connection.execute(
            sa.text(
                f"UPDATE predictions SET game_id = ({game})::bigint, "
                f"game_event_id = ({event})::integer "
                f"WHERE {game} {whole} AND {event} ~ '^[0-9]{{1,6}}$'"
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
            "UPDATE predictions SET verified_source = 'user', label_outcome = verified_outcome, "
            "label_by = verified_by, label_at = verified_at, "
            "label_role = (SELECT role FROM users WHERE users.id = predictions.verified_by) "
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
    # A labeler becomes a normal user: the older schema knows no other role.
    op.get_bind().execute(sa.text("UPDATE users SET role = 'user' WHERE role = 'labeler'"))
    with op.batch_alter_table("predictions") as batch:
        batch.drop_constraint(op.f("ck_predictions_origin"), type_="check")
        batch.drop_constraint(op.f("ck_predictions_label_outcome"), type_="check")
        batch.drop_constraint(op.f("ck_predictions_verified_source"), type_="check")
        batch.drop_constraint(op.f("fk_predictions_label_by_users"), type_="foreignkey")
        for column in (
            "run",
            "origin",
            "label_at",
            "label_role",
            "label_by",
            "label_outcome",
            "verified_source",
            "game_event_id",
            "game_id",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_role"), "role IN ('user', 'admin')")
