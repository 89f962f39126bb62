"""The stored predictions monitoring reads, for the API's gauges and ``nba-mlops
monitor`` alike: the newest real shots (drift, prediction mix; floor-map grid cells are
left out) and the newest verified predictions (live quality)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from nba_mlops.db.models import PURPOSE_SHOT, Prediction

RECENT_COLUMNS = ["model_version", "probability", "label", "input"]
VERIFIED_COLUMNS = ["model_version", "verified_outcome", "probability", "verified_at"]


def recent_shots(session: Session, limit: int) -> pd.DataFrame:
    """The newest ``limit`` predictions asked for real shots, newest first."""
    rows = session.execute(
        select(*(getattr(Prediction, c) for c in RECENT_COLUMNS))
        .where(Prediction.purpose == PURPOSE_SHOT)
        .order_by(Prediction.id.desc())
        .limit(limit)
    ).all()
    return pd.DataFrame(rows, columns=RECENT_COLUMNS)


def recently_verified(session: Session, limit: int) -> pd.DataFrame:
    """The newest ``limit`` verified predictions, newest first."""
    rows = session.execute(
        select(*(getattr(Prediction, c) for c in VERIFIED_COLUMNS))
        .where(Prediction.verified_outcome.is_not(None))
        .order_by(Prediction.id.desc())
        .limit(limit)
    ).all()
    return pd.DataFrame(rows, columns=VERIFIED_COLUMNS)
