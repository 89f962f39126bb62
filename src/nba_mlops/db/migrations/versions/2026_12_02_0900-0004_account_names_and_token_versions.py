"""account names: unique case-insensitively; token versions for revoking tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00

``users.username_key`` holds each name normalised (NFKC) and case-folded, and is unique.
Names that already shared a key are not merged and the upgrade does not fail: the oldest
account of each group gets the plain key, every later one ``<key>#<id>`` (no username can
contain ``#``). The upgrade logs each clash as a warning; ``nba-mlops users list`` marks
those accounts and ``nba-mlops users rename`` resolves them. Until renamed, such an
account logs in by its exact name only.

``users.token_version`` starts at 0; a password change or ``nba-mlops users
revoke-tokens`` raises it, and tokens issued before are refused.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("nba_mlops.db.migrations")


def _key(username: str) -> str:
    # The same rule as nba_mlops.auth.usernames.username_key, frozen here as it was.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def _keys(rows: Sequence[tuple[int, str]]) -> tuple[dict[int, str], list[list[tuple[int, str]]]]:
    """Key per user id (later clashing accounts marked), and the groups that clashed."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for user_id, username in sorted(rows):
        groups.setdefault(_key(username), []).append((user_id, username))
    keys: dict[int, str] = {}
    for key, members in groups.items():
        keys[members[0][0]] = key
        for user_id, _ in members[1:]:
            keys[user_id] = f"{key}#{user_id}"
    return keys, [members for members in groups.values() if len(members) > 1]


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("username_key", sa.String(length=200), nullable=True))

    users = sa.table("users", sa.column("id", sa.Integer()), sa.column("username_key", sa.String()))
    connection = op.get_bind()
    rows = [
        (int(r[0]), str(r[1]))
        for r in connection.execute(sa.text("SELECT id, username FROM users"))
    ]
    keys, clashes = _keys(rows)
    for user_id, key in keys.items():
        connection.execute(users.update().where(users.c.id == user_id).values(username_key=key))
    for members in clashes:
        kept, *renamed = members
        logger.warning(
            "usernames that differ only in case: %s; '%s' (id %d) keeps the name, %s log in "
            "by their exact name only until renamed (nba-mlops users rename OLD NEW)",
            ", ".join(f"'{name}'" for _, name in members),
            kept[1],
            kept[0],
            ", ".join(f"'{name}' (id {user_id})" for user_id, name in renamed),
        )
    if clashes:
        logger.warning("%d groups of clashing usernames: see 'nba-mlops users list'", len(clashes))

    with op.batch_alter_table("users") as batch:
        batch.alter_column("username_key", existing_type=sa.String(length=200), nullable=False)
        batch.create_unique_constraint(op.f("uq_users_username_key"), ["username_key"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_username_key"), type_="unique")
        batch.drop_column("username_key")
        batch.drop_column("token_version")
