"""A user's own prediction history, newest first."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from nba_mlops.api.deps import CurrentUser, SessionDep
from nba_mlops.api.routes.verify import as_utc
from nba_mlops.api.schemas.predictions import HistoryItem, PredictionHistory
from nba_mlops.db.models import Prediction
from nba_mlops.db.verification import OUTCOME, OUTCOME_SOURCE, with_outcomes

router = APIRouter(prefix="/predictions", tags=["predictions"])


@router.get("", summary="My predictions, newest first")
def my_predictions(
    session: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    purpose: Annotated[
        Literal["shot", "grid", "all"],
        Query(description="Real shots (default), floor-map grid cells, or both"),
    ] = "shot",
) -> PredictionHistory:
    mine = Prediction.user_id == user.id
    if purpose != "all":
        mine = mine & (Prediction.purpose == purpose)
    total = session.scalar(select(func.count()).select_from(Prediction).where(mine)) or 0
    rows = session.execute(
        with_outcomes(select(Prediction, OUTCOME, OUTCOME_SOURCE))
        .where(mine)
        .order_by(Prediction.id.desc())
        .limit(limit)
        .offset(offset)
    )
    items = [
        HistoryItem(
            prediction_id=row.id,
            prediction=1 if row.label else 0,
            probability=row.probability,
            model_version=row.model_version,
            created_at=as_utc(row.created_at),
            input=row.input,
            verified_outcome=None if outcome is None else (1 if outcome else 0),
            outcome_source=source,
            purpose=row.purpose,
        )
        for row, outcome, source in rows
    ]
    return PredictionHistory(items=items, total=total, limit=limit, offset=offset)
