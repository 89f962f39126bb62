"""Outcomes from the data: the ingest that brings a shot verifies its predictions.

A prediction made with the shot's NBA ids (``game_id``, ``game_event_id``) gets the
shot's real outcome when an ingest brings that shot. The outcome is recorded once per
shot, in ``shot_outcomes``, for every prediction with those ids: ground truth, which
nothing overwrites (recording the same shots again changes nothing), and which does not
overwrite anything either: a person's label stays in the prediction's ``verified_*``
columns. Where both exist the data's counts (:data:`OUTCOME`, :data:`OUTCOME_SOURCE`).

Keeping the outcomes out of the prediction rows is what makes this fast: an ingest
inserts one narrow row per shot asked about, where updating each wide prediction row
(its input, five indexes) cost three times as long. The work is two statements whatever
the number of shots: the games of the file that predictions were asked about (an index
scan), then one ``INSERT ... SELECT`` of those games' shots, handed over as arrays
(PostgreSQL ``unnest``) or a temporary table (SQLite). ``bench/bench_verification.py``
measures it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    text,
)

from nba_mlops.config import Settings
from nba_mlops.db.models import PURPOSE_SHOT, SOURCE_DATA, SOURCE_USER, Prediction, ShotOutcome
from nba_mlops.db.session import Database, database_exists

IntArray = npt.NDArray[np.int64]
SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])
_CHUNK = 900  # values per IN list (SQLite's old limit is 999 variables)

# --- reading a prediction's outcome ----------------------------------------------------------
#: Joins a prediction to its shot's outcome from the data (floor-map cells have none).
SHOT_OF_PREDICTION = and_(
    ShotOutcome.game_id == Prediction.game_id,
    ShotOutcome.game_event_id == Prediction.game_event_id,
    Prediction.purpose == PURPOSE_SHOT,
)
#: A prediction's outcome: the data's when known, else a person's (``None``: unknown).
OUTCOME: ColumnElement[int] = func.coalesce(ShotOutcome.made, Prediction.verified_outcome)
#: Where :data:`OUTCOME` came from: ``data``, ``user`` or ``None``.
OUTCOME_SOURCE: ColumnElement[str] = case(
    (ShotOutcome.made.is_not(None), SOURCE_DATA),
    (Prediction.verified_outcome.is_not(None), SOURCE_USER),
    else_=None,
)
#: When :data:`OUTCOME` was recorded.
OUTCOME_AT: ColumnElement[dt.datetime] = func.coalesce(
    ShotOutcome.verified_at, Prediction.verified_at
)


def with_outcomes(statement: SelectT) -> SelectT:
    """``statement`` (selecting from ``predictions``) with the shots' outcomes joined."""
    return statement.outerjoin(ShotOutcome, SHOT_OF_PREDICTION)


def data_outcome_known() -> ColumnElement[bool]:
    """True for a prediction whose shot's outcome the data gave."""
    return exists().where(SHOT_OF_PREDICTION)


# --- recording outcomes ------------------------------------------------------------------------
@dataclass(frozen=True)
class Verification:
    """What one verification did."""

    shots: int  # shots offered, with distinct ids
    games_asked: int  # of their games, how many had predictions asked about them
    recorded: int  # shots whose outcome was recorded now
    verified: int  # predictions that got their outcome from the data now
    replaced_labels: int  # of those, how many a person had labelled before
    seconds: float

    def summary(self) -> str:
        replaced = (
            f" ({self.replaced_labels:,} labelled by a person before)"
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


def asked_games(connection: Connection, games: Sequence[int]) -> IntArray:
    """Which of ``games`` have predictions asked about their shots."""
    found: list[int] = []
    for start in range(0, len(games), _CHUNK):
        chunk = [int(g) for g in games[start : start + _CHUNK]]
        rows = connection.execute(
            text(
                "SELECT DISTINCT game_id FROM predictions "
                "WHERE game_id IN :games AND purpose = 'shot'"
            ).bindparams(bindparam("games", expanding=True)),
            {"games": chunk},
        )
        found.extend(int(r[0]) for r in rows)
    return np.array(sorted(found), dtype=np.int64)


# PostgreSQL: the predictions of the shots (per shot: how many, how many a person
# labelled), the insert of the outcomes of those not recorded yet, and what it covered.
_RECORD_POSTGRES = """
WITH asked AS (
    SELECT game_id, game_event_id, count(*) AS n, count(verified_outcome) AS labelled
    FROM predictions
    WHERE game_id = ANY(%(games)s) AND purpose = 'shot'
    GROUP BY game_id, game_event_id
), recorded AS (
    INSERT INTO shot_outcomes (game_id, game_event_id, made, verified_at)
    SELECT s.game_id, s.game_event_id, s.made, %(now)s
    FROM unnest(%(shot_games)s::bigint[], %(shot_events)s::integer[], %(made)s::smallint[])
        AS s(game_id, game_event_id, made)
    JOIN asked AS a ON a.game_id = s.game_id AND a.game_event_id = s.game_event_id
    ON CONFLICT DO NOTHING
    RETURNING game_id, game_event_id
)
SELECT count(*), coalesce(sum(a.n), 0), coalesce(sum(a.labelled), 0)
FROM recorded AS r JOIN asked AS a ON a.game_id = r.game_id AND a.game_event_id = r.game_event_id
"""


def _record_postgres(
    connection: Connection,
    games: IntArray,
    events: IntArray,
    made: IntArray,
    asked: IntArray,
    now: dt.datetime,
) -> tuple[int, int, int]:
    recorded, verified, labelled = connection.exec_driver_sql(
        _RECORD_POSTGRES,
        {
            "games": asked.tolist(),
            "now": now,
            "shot_games": games.tolist(),
            "shot_events": events.tolist(),
            "made": made.tolist(),
        },
    ).one()
    return int(recorded), int(verified), int(labelled)


def _record_sqlite(
    connection: Connection,
    games: IntArray,
    events: IntArray,
    made: IntArray,
    now: dt.datetime,
) -> tuple[int, int, int]:
    connection.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS offered_shots ("
        "game_id INTEGER NOT NULL, game_event_id INTEGER NOT NULL, made INTEGER NOT NULL, "
        "PRIMARY KEY (game_id, game_event_id)) WITHOUT ROWID"
    )
    connection.exec_driver_sql("DELETE FROM offered_shots")
    try:
        connection.exec_driver_sql(
            "INSERT INTO offered_shots (game_id, game_event_id, made) VALUES (?, ?, ?)",
            list(zip(games.tolist(), events.tolist(), made.tolist(), strict=True)),
        )
        # the offered shots drive the loops (CROSS JOIN keeps them outside): index probes
        new = (
            "FROM offered_shots AS s CROSS JOIN predictions AS p "
            "ON p.game_id = s.game_id AND p.game_event_id = s.game_event_id "
            "WHERE p.purpose = 'shot' AND NOT EXISTS (SELECT 1 FROM shot_outcomes AS o "
            "WHERE o.game_id = s.game_id AND o.game_event_id = s.game_event_id)"
        )
        verified, labelled = connection.exec_driver_sql(
            f"SELECT count(*), count(p.verified_outcome) {new}"
        ).one()
        result = connection.execute(
            text(
                "INSERT OR IGNORE INTO shot_outcomes (game_id, game_event_id, made, verified_at) "
                f"SELECT DISTINCT s.game_id, s.game_event_id, s.made, :now {new}"
            ).bindparams(bindparam("now", type_=DateTime(timezone=True))),
            {"now": now},
        )
        return int(getattr(result, "rowcount", 0) or 0), int(verified), int(labelled)
    finally:
        connection.exec_driver_sql("DELETE FROM offered_shots")


def verify_shots(
    db: Database,
    game_ids: npt.ArrayLike,
    event_ids: npt.ArrayLike,
    made: npt.ArrayLike,
    *,
    now: dt.datetime | None = None,
) -> Verification:
    """Record the outcome of every shot given (``made`` 1 or 0) that predictions were
    asked about and whose outcome is not recorded yet, in one transaction."""
    started = time.perf_counter()
    games, events, outcomes = _unique_shots(game_ids, event_ids, made)
    now = now or dt.datetime.now(dt.UTC)
    if games.size == 0:
        return Verification(0, 0, 0, 0, 0, time.perf_counter() - started)
    with db.engine.begin() as connection:
        asked = asked_games(connection, np.unique(games).tolist())
        keep = np.isin(games, asked)
        recorded = verified = labelled = 0
        if keep.any():
            chosen = (games[keep], events[keep], outcomes[keep])
            if connection.dialect.name == "postgresql":
                recorded, verified, labelled = _record_postgres(connection, *chosen, asked, now)
            else:
                recorded, verified, labelled = _record_sqlite(connection, *chosen, now)
    return Verification(
        shots=int(games.size),
        games_asked=int(asked.size),
        recorded=recorded,
        verified=verified,
        replaced_labels=labelled,
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
    from nba_mlops.db.migrate import migrated_database

    if not database_exists(settings):
        return None
    with migrated_database(settings) as db:
        return verify_shots(db, game_ids, event_ids, made)


def waiting_games(connection: Connection) -> IntArray:
    """Games with predictions whose shot has no outcome from the data yet."""
    rows = connection.execute(
        text(
            "SELECT DISTINCT p.game_id FROM predictions AS p "
            "WHERE p.game_id IS NOT NULL AND p.purpose = 'shot' AND NOT EXISTS ("
            "SELECT 1 FROM shot_outcomes AS o "
            "WHERE o.game_id = p.game_id AND o.game_event_id = p.game_event_id)"
        )
    )
    return np.array(sorted(int(r[0]) for r in rows), dtype=np.int64)
