"""Score shots: one (``/predict``) or up to 1,000 (``/predict/batch``); every answer is stored."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from nba_mlops.api.deps import CurrentUser, ServicesDep
from nba_mlops.api.errors import invalid_field, mapping_error
from nba_mlops.api.explanations import explained_response
from nba_mlops.api.schemas.errors import ErrorBody
from nba_mlops.api.schemas.explain import ExplainedPrediction
from nba_mlops.api.schemas.predictions import BatchPredictionResult, PredictionResult
from nba_mlops.api.schemas.shots import (
    ORIGINAL_EXAMPLE,
    RAW_EXAMPLE,
    OriginalShot,
    RawShot,
    ShotBatch,
    ShotPayload,
)
from nba_mlops.api.services import Services
from nba_mlops.db.models import PURPOSE_SHOT
from nba_mlops.inference.predictor import DECISION_THRESHOLD

router = APIRouter(prefix="/predict", tags=["predictions"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing, invalid or expired token"},
    403: {"model": ErrorBody, "description": "Account disabled"},
    503: {"model": ErrorBody, "description": "No model served, or the database is unavailable"},
}
# Raw fields filled from the original payload, by the original name the client sent.
_ORIGINAL_NAMES = {
    "loc_x": "X_Location",
    "loc_y": "Y_Location",
    "period": "Period",
    "minutes_remaining": "Minutes_Remaining",
    "seconds_remaining": "Seconds_Remaining",
    "game_date": "Day",  # Year, Month and Day together; an impossible date is named Day too
}


def shot_record(shot: RawShot | OriginalShot, where: tuple[str | int, ...] = ()) -> dict[str, Any]:
    """The canonical record of an accepted shot; 422 naming the field when the original
    payload maps onto raw fields that are out of range (e.g. a date before the first
    NBA game)."""
    try:
        return shot.to_record()
    except ValidationError as exc:
        names = _ORIGINAL_NAMES if isinstance(shot, OriginalShot) else {}
        raise mapping_error(exc, where, lambda name: names.get(name, name)) from None


def shot_records(shots: list[RawShot | OriginalShot]) -> list[dict[str, Any]]:
    """:func:`shot_record` of every shot of a batch; one 422 naming every bad item."""
    records: list[dict[str, Any]] = []
    errors: list[Any] = []
    for index, shot in enumerate(shots):
        try:
            records.append(shot_record(shot, ("shots", index)))
        except RequestValidationError as exc:
            errors.extend(exc.errors())
    if errors:
        raise RequestValidationError(errors)
    return records


_EXAMPLES: dict[str, Any] = {
    "raw": {"summary": "Raw shot fields", "value": RAW_EXAMPLE},
    "minimal": {"summary": "Only the location", "value": {"loc_x": 0, "loc_y": 40}},
    "original": {
        "summary": "The original project's 39-field payload",
        "value": ORIGINAL_EXAMPLE,
    },
}


def _rows(
    user_id: int,
    records: list[dict[str, Any]],
    probabilities: list[float],
    version: str,
    started: float,
    purpose: str,
) -> tuple[list[dict[str, Any]], list[int], list[float]]:
    latency_ms = (time.perf_counter() - started) * 1000.0
    now = dt.datetime.now(dt.UTC)
    rounded = [round(p, 6) for p in probabilities]
    labels = [int(p >= DECISION_THRESHOLD) for p in probabilities]
    rows = [
        {
            "user_id": user_id,
            "input": record,
            "probability": probability,
            "label": label,
            "model_version": version,
            "latency_ms": latency_ms,
            "created_at": now,
            "purpose": purpose,
        }
        for record, probability, label in zip(records, rounded, labels, strict=True)
    ]
    return rows, labels, rounded


async def score_and_store(
    services: Services,
    user_id: int,
    records: list[dict[str, Any]],
    purpose: str = PURPOSE_SHOT,
) -> tuple[list[PredictionResult], str]:
    """Score canonical shot records and store every answer; the ids come from the insert."""
    started = time.perf_counter()
    scored = await services.predictor.predict(records)
    rows, labels, probabilities = _rows(
        user_id, records, scored.probabilities, scored.model_version, started, purpose
    )
    ids = await services.writer.store(rows)
    results = [
        PredictionResult(
            prediction=1 if label else 0,
            probability=probability,
            model_version=scored.model_version,
            prediction_id=prediction_id,
        )
        for label, probability, prediction_id in zip(labels, probabilities, ids, strict=True)
    ]
    return results, scored.model_version


@router.post(
    "",
    summary="Will this shot go in? (and, with explain=true, why)",
    response_model=PredictionResult,
    responses=_RESPONSES | {200: {"model": ExplainedPrediction}},
)
async def predict(
    shot: Annotated[ShotPayload, Body(openapi_examples=_EXAMPLES)],
    user: CurrentUser,
    services: ServicesDep,
    explain: Annotated[
        bool, Query(description="Also give the features' contributions, grouped")
    ] = False,
) -> Any:
    # The plain success path of this route is usually answered by
    # nba_mlops.api.fastpath before FastAPI routing; both share score_and_store.
    record = shot_record(shot)
    (result,), _ = await score_and_store(services, user.id, [record])
    if explain:
        return await explained_response(services.predictor, record, result)
    return result


@router.post("/batch", summary="Score up to 1,000 shots at once", responses=_RESPONSES)
async def predict_batch(
    batch: ShotBatch,
    user: CurrentUser,
    services: ServicesDep,
) -> BatchPredictionResult:
    limit = services.settings.serving.max_batch_shots
    if len(batch.shots) > limit:
        raise invalid_field("shots", f"List should have at most {limit} items")
    records = shot_records(batch.shots)
    results, version = await score_and_store(services, user.id, records, batch.purpose)
    return BatchPredictionResult(predictions=results, model_version=version)
