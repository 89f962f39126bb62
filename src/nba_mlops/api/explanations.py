"""``/predict?explain=true``: the prediction's answer with the champion's contributions."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from fastapi import Response

from nba_mlops.api.schemas.explain import ExplainedPrediction, ExplanationBody
from nba_mlops.api.schemas.predictions import PredictionResult
from nba_mlops.explain import Explanation, explain
from nba_mlops.inference.predictor import ShotScorer, model_inputs


def explain_record(predictor: ShotScorer, record: dict[str, Any]) -> Explanation:
    """The explanation of one canonical record by the champion this process holds."""
    loaded = getattr(predictor, "current", None)
    if loaded is None:
        return Explanation(
            available=False,
            family="unknown",
            reason="No model in this process: scoring is remote or no champion is loaded",
        )
    inputs = model_inputs([record], getattr(predictor, "online", None))
    return explain(loaded.model, inputs)


async def explained_response(
    predictor: ShotScorer, record: dict[str, Any], result: PredictionResult
) -> Response:
    explanation = await asyncio.to_thread(explain_record, predictor, record)
    body = ExplainedPrediction(
        **result.model_dump(),
        explanation=ExplanationBody.model_validate(dataclasses.asdict(explanation)),
    )
    return Response(body.model_dump_json(), media_type="application/json")
