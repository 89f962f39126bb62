"""Score shots: one (``/predict``) or up to 1,000 (``/predict/batch``); every answer is stored."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body

from nba_mlops.api.deps import CurrentUser, ServicesDep
from nba_mlops.api.errors import invalid_field
from nba_mlops.api.schemas.predictions import BatchPredictionResult, PredictionResult
from nba_mlops.api.schemas.shots import (
    ORIGINAL_EXAMPLE,
    RAW_EXAMPLE,
    ShotBatch,
    ShotPayload,
)
from nba_mlops.api.services import Services
from nba_mlops.db.models import PURPOSE_SHOT
from nba_mlops.inference.predictor import DECISION_THRESHOLD

router = APIRouter(prefix="/predict", tags=["predictions"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid or expired token"},
    503: {"description": "No model served, or the database is unavailable"},
}
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


@router.post("", summary="Will this shot go in?", responses=_RESPONSES)
async def predict(
    shot: Annotated[ShotPayload, Body(openapi_examples=_EXAMPLES)],
    user: CurrentUser,
    services: ServicesDep,
) -> PredictionResult:
    # The plain success path of this route is usually answered by
    # nba_mlops.api.fastpath before FastAPI routing; both share score_and_store.
    (result,), _ = await score_and_store(services, user.id, [shot.to_record()])
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
    records = [shot.to_record() for shot in batch.shots]
    results, version = await score_and_store(services, user.id, records, batch.purpose)
    return BatchPredictionResult(predictions=results, model_version=version)
