"""Predictions verified from the shot store: the outcomes of shots ingested before the
prediction was asked, or by an ingest that could not reach the database.

The store side of :mod:`nba_mlops.db.verification` (which records outcomes on the
application database and knows nothing of the store).
"""

from __future__ import annotations

import time

from nba_mlops.config import Settings
from nba_mlops.data.repair import season_labels, season_parts
from nba_mlops.data.schema import GAME_EVENT_ID, GAME_ID, TARGET
from nba_mlops.data.store import ShotStore
from nba_mlops.db.migrate import migrated_database
from nba_mlops.db.session import database_exists
from nba_mlops.db.verification import Verification, verify_shots, waiting_games


def verify_from_store(settings: Settings) -> Verification | None:
    """Verify every waiting prediction whose shot the store already holds: after an
    ingest whose verification failed (database down), or for predictions asked about
    shots ingested before. ``None`` when there is no database yet."""
    if not database_exists(settings):
        return None
    started = time.perf_counter()
    with migrated_database(settings) as db:
        with db.engine.connect() as connection:
            waiting = waiting_games(connection)
        if waiting.size == 0:
            return Verification(0, 0, 0, 0, 0, time.perf_counter() - started)
        seasons = sorted(set(season_labels(season_parts(waiting)[0]).to_pylist()))
        shots = ShotStore(settings).read(columns=[GAME_ID, GAME_EVENT_ID, TARGET], seasons=seasons)
        shots = shots[shots[GAME_ID].isin(waiting)]
        found = verify_shots(db, shots[GAME_ID], shots[GAME_EVENT_ID], shots[TARGET])
    return Verification(
        found.shots, int(waiting.size), found.recorded, found.verified, found.replaced_labels,
        time.perf_counter() - started,
    )  # fmt: skip
