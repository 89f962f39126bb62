"""SQL of the online feature tables (``online_*``): one publish, a few reads.

The rows are plain tuples and dicts; what they mean is ``nba_mlops.features.online``'s
business.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from nba_mlops.db.models import OnlineGameShot, OnlineLeague, OnlineSnapshot, OnlineTally
from nba_mlops.db.session import Database

_CHUNK = 5_000  # rows per INSERT statement


def _insert(connection: Connection, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _CHUNK):
        connection.execute(insert(model), list(rows[start : start + _CHUNK]))


def publish(
    db: Database,
    snapshot: dict[str, Any],
    tallies: Sequence[dict[str, Any]],
    league: Sequence[dict[str, Any]],
    game_shots: Sequence[dict[str, Any]],
    keep_games: Sequence[int],
) -> None:
    """Replace the online tables' content in one transaction: readers see the old
    snapshot or the new one, never a mix. Game shots of games not in ``keep_games`` are
    dropped; those of ``game_shots``' games are replaced (a game may have arrived in
    parts)."""
    with db.engine.begin() as connection:
        connection.execute(delete(OnlineTally))
        _insert(connection, OnlineTally, tallies)
        connection.execute(delete(OnlineLeague))
        _insert(connection, OnlineLeague, league)
        kept = set(int(g) for g in keep_games)
        stored = set(connection.execute(select(OnlineGameShot.game_id).distinct()).scalars())
        gone = sorted(stored - kept)
        for start in range(0, len(gone), _CHUNK):
            connection.execute(
                delete(OnlineGameShot).where(
                    OnlineGameShot.game_id.in_(gone[start : start + _CHUNK])
                )
            )
        new_games = sorted({int(row["game_id"]) for row in game_shots})
        for start in range(0, len(new_games), _CHUNK):
            connection.execute(
                delete(OnlineGameShot).where(
                    OnlineGameShot.game_id.in_(new_games[start : start + _CHUNK])
                )
            )
        _insert(connection, OnlineGameShot, game_shots)
        connection.execute(delete(OnlineSnapshot))
        connection.execute(insert(OnlineSnapshot), [{"id": 1, **snapshot}])


def stored_games(db: Database) -> dict[int, int]:
    """Games whose shots the online tables hold, with how many each."""
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(OnlineGameShot.game_id, func.count()).group_by(OnlineGameShot.game_id)
        ).all()
    return {int(game): int(count) for game, count in rows}


def read_snapshot(db: Database) -> dict[str, Any] | None:
    """The published snapshot's version and latest season, or None."""
    with db.engine.connect() as connection:
        row = connection.execute(
            select(
                OnlineSnapshot.data_version,
                OnlineSnapshot.feature_version,
                OnlineSnapshot.latest_season,
                OnlineSnapshot.published_at,
            )
        ).first()
    return dict(row._mapping) if row is not None else None


def read_tallies(db: Database) -> list[tuple[str, str, int, float, float, float]]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(
                OnlineTally.tally,
                OnlineTally.key,
                OnlineTally.season,
                OnlineTally.n,
                OnlineTally.made,
                OnlineTally.excess,
            )
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def read_league(db: Database) -> list[tuple[int, str, str, float, float]]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(
                OnlineLeague.season,
                OnlineLeague.zone,
                OnlineLeague.action,
                OnlineLeague.n,
                OnlineLeague.made,
            )
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


GAME_SHOT_COLUMNS = (
    "game_id",
    "game_event_id",
    "period",
    "clock",
    "player_id",
    "team_id",
    "made",
    "three",
    "distance",
)


def read_game_shots(db: Database, game_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """The stored shots of these games (``GAME_SHOT_COLUMNS``)."""
    if not game_ids:
        return []
    columns = [getattr(OnlineGameShot, c) for c in GAME_SHOT_COLUMNS]
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(*columns).where(OnlineGameShot.game_id.in_(sorted(set(game_ids))))
        ).all()
    return [tuple(r) for r in rows]


__all__ = [
    "GAME_SHOT_COLUMNS",
    "publish",
    "read_game_shots",
    "read_league",
    "read_snapshot",
    "read_tallies",
    "stored_games",
]
