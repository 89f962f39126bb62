"""Outcomes from the data: the ingest that brings a shot verifies its predictions.

A prediction made with the shot's NBA ids (``game_id``, ``game_event_id``) gets the
shot's real outcome when an ingest brings that shot: ``verified_outcome`` from the
data, ``verified_source = 'data'``. That is ground truth, so it replaces an outcome a
person gave before (the person's label stays in ``label_outcome``), and a person can
never replace it. Verifying the same shots again changes nothing: rows whose outcome
came from the data are never touched again.

The work is two statements whatever the number of shots: one look-up of the games that
have predictions waiting for their outcome (an index range scan), then one joined
``UPDATE`` with the shots of those games, handed over as arrays (PostgreSQL ``unnest``)
or a temporary table (SQLite). ``bench/bench_verification.py`` measures it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, DateTime, bindparam, text

from nba_mlops.config import Settings
from nba_mlops.db.session import Database, database_exists

IntArray = npt.NDArray[np.int64]

# Predictions whose outcome the data has not given yet (a person's label may be there).
_PENDING = (
    "p.game_id IS NOT NULL AND p.purpose = 'shot' "
    "AND (p.verified_source IS NULL OR p.verified_source = 'user')"
)


@dataclass(frozen=True)
class Verification:
    """What one verification did."""

    shots: int  # shots offered, with distinct ids
    games_waiting: int  # of their games, how many had predictions waiting for an outcome
    verified: int  # predictions that got their outcome from the data now
    replaced_labels: int  # of those, how many had a person's label before
    seconds: float

    def summary(self) -> str:
        replaced = (
            f" ({self.replaced_labels:,} replacing a person's label)"
            if self.replaced_labels
            else ""
        )
        return f"{plural(self.verified, 'prediction')} verified from the data{replaced}"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _unique_shots(
    game_ids: npt.ArrayLike, event_ids: npt.ArrayLike, made: npt.ArrayLike
) -> tuple[IntArray, IntArray, IntArray]:
    """The shots with valid ids and outcomes, the first of each (game, event) pair kept."""
    games = np.asarray(game_ids, dtype=np.int64).reshape(-1)
    events = np.asarray(event_ids, dtype=np.int64).reshape(-1)
    outcomes = np.asarray(made, dtype=np.int64).reshape(-1)
    if not games.size == events.size == outcomes.size:
        raise ValueError(
            f"{games.size} game ids, {events.size} event ids and {outcomes.size} outcomes: "
            "one of each per shot"
        )
    if not np.isin(outcomes, (0, 1)).all():
        raise ValueError("a shot's outcome must be 0 (missed) or 1 (made)")
    valid = (games >= 0) & (events >= 0)
    games, events, outcomes = games[valid], events[valid], outcomes[valid]
    pairs = np.stack([games, events], axis=1)
    _, first = np.unique(pairs, axis=0, return_index=True)
    first.sort()
    return games[first], events[first], outcomes[first]


def waiting_games(connection: Connection, low: int, high: int) -> IntArray:
    """Games between ``low`` and ``high`` with predictions waiting for the data's outcome."""
    rows = connection.execute(
        text(
            f"SELECT DISTINCT p.game_id FROM predictions AS p "
            f"WHERE p.game_id BETWEEN :low AND :high AND {_PENDING}"
        ),
        {"low": int(low), "high": int(high)},
    ).all()
    return np.array([int(r[0]) for r in rows], dtype=np.int64)


# One statement: the update, and how many of the rows it changed held a person's label.
_UPDATE_POSTGRES = f"""
WITH updated AS (
    UPDATE predictions AS p
    SET verified_outcome = s.made, verified_source = 'data', verified_by = NULL,
        verified_at = %s
    FROM unnest(%s::bigint[], %s::integer[], %s::smallint[]) AS s(game_id, game_event_id, made)
    WHERE p.game_id = s.game_id AND p.game_event_id = s.game_event_id AND {_PENDING}
    RETURNING p.label_outcome
)
SELECT count(*), count(label_outcome) FROM updated
"""


def _verify_postgres(
    connection: Connection, games: IntArray, events: IntArray, made: IntArray, now: dt.datetime
) -> tuple[int, int]:
    verified, replaced = connection.exec_driver_sql(
        _UPDATE_POSTGRES, (now, games.tolist(), events.tolist(), made.tolist())
    ).one()
    return int(verified), int(replaced)


def _verify_sqlite(
    connection: Connection, games: IntArray, events: IntArray, made: IntArray, now: dt.datetime
) -> tuple[int, int]:
    connection.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS verified_shots ("
        "game_id INTEGER NOT NULL, game_event_id INTEGER NOT NULL, made INTEGER NOT NULL, "
        "PRIMARY KEY (game_id, game_event_id)) WITHOUT ROWID"
    )
    connection.exec_driver_sql("DELETE FROM verified_shots")
    try:
        connection.exec_driver_sql(
            "INSERT INTO verified_shots (game_id, game_event_id, made) VALUES (?, ?, ?)",
            list(zip(games.tolist(), events.tolist(), made.tolist(), strict=True)),
        )
        labelled = connection.exec_driver_sql(
            "SELECT count(*) FROM predictions AS p JOIN verified_shots AS s "
            "ON p.game_id = s.game_id AND p.game_event_id = s.game_event_id "
            f"WHERE {_PENDING} AND p.label_outcome IS NOT NULL"
        ).scalar_one()
        # SQLite names the updated table itself in the WHERE clause, not an alias.
        pending = _PENDING.replace("p.", "predictions.")
        update = text(
            "UPDATE predictions SET verified_outcome = s.made, verified_source = 'data', "
            "verified_by = NULL, verified_at = :now FROM verified_shots AS s "
            "WHERE predictions.game_id = s.game_id "
            f"AND predictions.game_event_id = s.game_event_id AND {pending}"
        ).bindparams(bindparam("now", type_=DateTime(timezone=True)))
        result = connection.execute(update, {"now": now})
        return int(getattr(result, "rowcount", 0) or 0), int(labelled)
    finally:
        connection.exec_driver_sql("DELETE FROM verified_shots")


def verify_shots(
    db: Database,
    game_ids: npt.ArrayLike,
    event_ids: npt.ArrayLike,
    made: npt.ArrayLike,
    *,
    now: dt.datetime | None = None,
) -> Verification:
    """Record the outcome of every shot given (``made`` 1 or 0) on the predictions of
    that shot still waiting for the data's outcome, in one transaction."""
    import time

    started = time.perf_counter()
    games, events, outcomes = _unique_shots(game_ids, event_ids, made)
    now = now or dt.datetime.now(dt.UTC)
    if games.size == 0:
        return Verification(0, 0, 0, 0, time.perf_counter() - started)
    with db.engine.begin() as connection:
        waiting = waiting_games(connection, int(games.min()), int(games.max()))
        keep = np.isin(games, waiting)
        verified = replaced = 0
        if keep.any():
            chosen = (games[keep], events[keep], outcomes[keep])
            if connection.dialect.name == "postgresql":
                verified, replaced = _verify_postgres(connection, *chosen, now)
            else:
                verified, replaced = _verify_sqlite(connection, *chosen, now)
    return Verification(
        shots=int(games.size),
        games_waiting=int(waiting.size),
        verified=verified,
        replaced_labels=replaced,
        seconds=time.perf_counter() - started,
    )


def verify_after_ingest(
    settings: Settings,
    game_ids: npt.ArrayLike,
    event_ids: npt.ArrayLike,
    made: npt.ArrayLike,
) -> Verification | None:
    """:func:`verify_shots` on the application database of ``settings`` (migrated first);
    ``None`` when there is no database yet, hence no prediction to verify."""
    from nba_mlops.db.migrate import upgrade

    if not database_exists(settings):
        return None
    upgrade(settings)
    db = Database(settings)
    try:
        return verify_shots(db, game_ids, event_ids, made)
    finally:
        db.dispose()


def verify_from_store(settings: Settings) -> Verification | None:
    """Verify every waiting prediction whose shot the store already holds: after an
    ingest whose verification failed (database down), or for predictions asked about
    shots ingested before. ``None`` when there is no database yet."""
    import time

    from nba_mlops.data.repair import season_labels, season_parts
    from nba_mlops.data.schema import GAME_EVENT_ID, GAME_ID, TARGET
    from nba_mlops.data.store import ShotStore
    from nba_mlops.db.migrate import upgrade

    if not database_exists(settings):
        return None
    started = time.perf_counter()
    upgrade(settings)
    db = Database(settings)
    try:
        with db.engine.connect() as connection:
            waiting = waiting_games(connection, 0, 2**62)
        if waiting.size == 0:
            return Verification(0, 0, 0, 0, time.perf_counter() - started)
        seasons = sorted(set(season_labels(season_parts(waiting)[0]).to_pylist()))
        shots = ShotStore(settings).read(columns=[GAME_ID, GAME_EVENT_ID, TARGET], seasons=seasons)
        shots = shots[shots[GAME_ID].isin(waiting)]
        found = verify_shots(db, shots[GAME_ID], shots[GAME_EVENT_ID], shots[TARGET])
    finally:
        db.dispose()
    return Verification(
        found.shots, int(waiting.size), found.verified, found.replaced_labels,
        time.perf_counter() - started,
    )  # fmt: skip
