"""The stored predictions monitoring reads, for the API's gauges and ``nba-mlops
monitor`` alike: the newest real shots (drift, prediction mix; floor-map grid cells are
left out), the newest predictions whose outcome came from the data (live quality), and,
shown apart, the newest ones a person labelled (only labels of the roles allowed to
count)."""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from nba_mlops.db.models import PURPOSE_SHOT, ROLE_ADMIN, ROLE_LABELER, Prediction, ShotOutcome
from nba_mlops.db.verification import SHOT_OF_PREDICTION, data_outcome_known

RECENT_COLUMNS = ["model_version", "probability", "label", "input"]
VERIFIED_COLUMNS = ["model_version", "verified_outcome", "probability", "verified_at", "day"]
#: Person labels that count towards live quality (shown apart from the data's outcomes):
#: labelers' and administrators'. A normal user labels only their own predictions, and
#: one account must not be able to steer monitoring.
COUNTED_LABEL_ROLES = frozenset({ROLE_LABELER, ROLE_ADMIN})


def recent_shots(session: Session, limit: int) -> pd.DataFrame:
    """The newest ``limit`` predictions asked for real shots, newest first."""
    rows = session.execute(
        select(*(getattr(Prediction, c) for c in RECENT_COLUMNS))
        .where(Prediction.purpose == PURPOSE_SHOT)
        .order_by(Prediction.id.desc())
        .limit(limit)
    ).all()
    return pd.DataFrame(rows, columns=RECENT_COLUMNS)


def _outcomes(query: Select[tuple[object, ...]], session: Session, limit: int) -> pd.DataFrame:
    rows = session.execute(query.order_by(Prediction.id.desc()).limit(limit)).all()
    frame = pd.DataFrame(
        rows, columns=["model_version", "verified_outcome", "probability", "verified_at",
                       "game_date", "created_at"]
    )  # fmt: skip
    # The day of a shot is its game's date; without one, the day it was asked about.
    game_day = pd.to_datetime(frame["game_date"], errors="coerce", format="%Y-%m-%d")
    asked = pd.to_datetime(frame["created_at"], errors="coerce", utc=True)
    day = game_day.dt.strftime("%Y-%m-%d").where(game_day.notna(), asked.dt.strftime("%Y-%m-%d"))
    return frame.drop(columns=["game_date", "created_at"]).assign(day=day)


def recently_verified(session: Session, limit: int) -> pd.DataFrame:
    """The newest ``limit`` predictions whose outcome came from the data, newest first
    (``VERIFIED_COLUMNS``; ``day`` is the shot's game date)."""
    query = select(
        Prediction.model_version,
        ShotOutcome.made,
        Prediction.probability,
        ShotOutcome.verified_at,
        Prediction.input["game_date"].as_string(),
        Prediction.created_at,
    ).join(ShotOutcome, SHOT_OF_PREDICTION)
    return _outcomes(query, session, limit)


def recently_labelled(
    session: Session, limit: int, roles: Collection[str] = COUNTED_LABEL_ROLES
) -> pd.DataFrame:
    """The newest ``limit`` predictions whose outcome a person of one of ``roles`` gave
    and the data has not yet, newest first, in ``VERIFIED_COLUMNS``."""
    query = select(
        Prediction.model_version,
        Prediction.verified_outcome,
        Prediction.probability,
        Prediction.verified_at,
        Prediction.input["game_date"].as_string(),
        Prediction.created_at,
    ).where(
        Prediction.verified_outcome.is_not(None),
        Prediction.verified_role.in_(sorted(roles)),
        ~data_outcome_known(),
    )
    return _outcomes(query, session, limit)
