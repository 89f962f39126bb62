"""Crowd verification: see a random unverified prediction, then tell what really happened."""

from __future__ import annotations

import datetime as dt
import random

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import func, select, update

from nba_mlops.api.deps import CurrentUser, SessionDep
from nba_mlops.api.schemas.predictions import Message, RandomPrediction, VerificationRequest
from nba_mlops.db.models import PURPOSE_SHOT, Prediction

router = APIRouter(prefix="/verify_random_prediction", tags=["verification"])


def as_utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@router.get(
    "",
    summary="A random prediction whose outcome nobody verified yet",
    responses={404: {"description": "No unverified predictions left"}},
)
def random_unverified(session: SessionDep, user: CurrentUser) -> RandomPrediction:
    # Floor-map grid cells were never shots: they have no outcome to verify.
    unverified = Prediction.verified_outcome.is_(None) & (Prediction.purpose == PURPOSE_SHOT)
    low, high = session.execute(
        select(func.min(Prediction.id), func.max(Prediction.id)).where(unverified)
    ).one()
    if low is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="No unverified predictions left")
    # A random id between the bounds, then the first unverified one from there: one index
    # probe instead of ORDER BY random() over the whole table.
    pivot = random.randint(int(low), int(high))
    found = session.scalar(
        select(Prediction)
        .where(unverified, Prediction.id >= pivot)
        .order_by(Prediction.id)
        .limit(1)
    )
    if found is None:  # verified meanwhile by someone else
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="No unverified predictions left")
    return RandomPrediction(
        prediction_id=found.id,
        model_prediction=1 if found.label else 0,
        probability=found.probability,
        date_time=as_utc(found.created_at),
        input_parameters=found.input,
    )


@router.post(
    "",
    summary="Record whether a predicted shot went in (1) or not (0)",
    responses={
        404: {"description": "Unknown prediction id"},
        409: {"description": "Already verified, or a floor-map grid cell (not a shot)"},
    },
)
def verify(body: VerificationRequest, session: SessionDep, user: CurrentUser) -> Message:
    # One conditional UPDATE: two people verifying at once cannot both succeed.
    result = session.execute(
        update(Prediction)
        .where(
            Prediction.id == body.prediction_id,
            Prediction.verified_outcome.is_(None),
            Prediction.purpose == PURPOSE_SHOT,
        )
        .values(
            verified_outcome=body.true_value,
            verified_by=user.id,
            verified_at=dt.datetime.now(dt.UTC),
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if getattr(result, "rowcount", 0) == 0:
        purpose = session.scalar(
            select(Prediction.purpose).where(Prediction.id == body.prediction_id)
        )
        if purpose is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, detail=f"Prediction {body.prediction_id} not found"
            )
        if purpose != PURPOSE_SHOT:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                detail=(
                    f"Prediction {body.prediction_id} is a cell of a floor map "
                    f"(purpose {purpose!r}), not a shot: it has no outcome to verify"
                ),
            )
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"Prediction {body.prediction_id} was already verified"
        )
    return Message(message=f"Prediction_id:{body.prediction_id} verified successfully")
