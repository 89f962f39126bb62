"""Person labels: see a random unverified prediction, then tell what really happened.

A normal user labels only their own predictions; labelers and administrators label any
(``LABELLING_ROLES``). A prediction whose shot's outcome the data gave (the ingest that
brought it, ``nba_mlops.db.verification``) is not offered and not labelled.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import NoReturn

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from nba_mlops.api.deps import CurrentUser, SessionDep
from nba_mlops.api.schemas.predictions import Message, RandomPrediction, VerificationRequest
from nba_mlops.auth.users import UserStatus
from nba_mlops.db.models import PURPOSE_SHOT, ROLE_ADMIN, ROLE_LABELER, Prediction
from nba_mlops.db.verification import data_outcome_known

#: Roles that may label anyone's predictions; everyone else only their own.
LABELLING_ROLES = frozenset({ROLE_LABELER, ROLE_ADMIN})

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
    if user.role not in LABELLING_ROLES:
        unverified = unverified & (Prediction.user_id == user.id)
    low, high = session.execute(
        select(func.min(Prediction.id), func.max(Prediction.id)).where(unverified)
    ).one()
    if low is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="No unverified predictions left")
    # A random id between the bounds, then the first unverified one from there (from the
    # lowest when none is above): index probes instead of ORDER BY random() over the table.
    pivot = random.randint(int(low), int(high))
    found = None
    for start in (pivot, int(low)):
        found = session.scalar(
            select(Prediction)
            .where(unverified, ~data_outcome_known(), Prediction.id >= start)
            .order_by(Prediction.id)
            .limit(1)
        )
        if found is not None:
            break
    if found is None:  # verified meanwhile, by someone else or by the data
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
        403: {"description": "Another user's prediction (labelers and administrators only)"},
        404: {"description": "Unknown prediction id"},
        409: {"description": "Already verified, or a floor-map grid cell (not a shot)"},
    },
)
def verify(body: VerificationRequest, session: SessionDep, user: CurrentUser) -> Message:
    # One conditional UPDATE: two people verifying at once cannot both succeed, and
    # nobody labels over an outcome (the data's least of all).
    conditions = [
        Prediction.id == body.prediction_id,
        Prediction.verified_outcome.is_(None),
        Prediction.purpose == PURPOSE_SHOT,
        ~data_outcome_known(),
    ]
    if user.role not in LABELLING_ROLES:
        conditions.append(Prediction.user_id == user.id)
    now = dt.datetime.now(dt.UTC)
    result = session.execute(
        update(Prediction)
        .where(*conditions)
        .values(
            verified_outcome=body.true_value,
            verified_by=user.id,
            verified_role=user.role,
            verified_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if getattr(result, "rowcount", 0) == 0:
        _refusal(session, body.prediction_id, user)
    return Message(message=f"Prediction_id:{body.prediction_id} verified successfully")


def _refusal(session: Session, prediction_id: int, user: UserStatus) -> NoReturn:
    """Why the conditional update changed nothing, as the HTTP error to answer."""
    found = session.execute(
        select(Prediction.purpose, Prediction.user_id, data_outcome_known()).where(
            Prediction.id == prediction_id
        )
    ).first()
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"Prediction {prediction_id} not found"
        )
    purpose, owner, from_data = found
    if user.role not in LABELLING_ROLES and owner != user.id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=(
                f"Prediction {prediction_id} is not yours: you may verify only your own "
                "predictions (labelers and administrators verify any)"
            ),
        )
    if purpose != PURPOSE_SHOT:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=(
                f"Prediction {prediction_id} is a cell of a floor map "
                f"(purpose {purpose!r}), not a shot: it has no outcome to verify"
            ),
        )
    if from_data:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=(
                f"Prediction {prediction_id} was already verified from the data: the ingest "
                "of its shot recorded what happened"
            ),
        )
    raise HTTPException(
        status.HTTP_409_CONFLICT, detail=f"Prediction {prediction_id} was already verified"
    )
