"""Prediction, verification and history bodies."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**63 - 1


class PredictionResult(BaseModel):
    prediction: Literal[0, 1] = Field(description="1: the shot goes in")
    probability: float = Field(description="Make probability")
    model_version: str
    prediction_id: int = Field(description="Id to verify the outcome with later")


class BatchPredictionResult(BaseModel):
    predictions: list[PredictionResult]
    model_version: str


class RandomPrediction(BaseModel):
    prediction_id: int
    model_prediction: Literal[0, 1]
    probability: float
    date_time: dt.datetime
    input_parameters: dict[str, Any]


class VerificationRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"prediction_id": 13, "true_value": 0}]}
    )

    prediction_id: int = Field(ge=1, le=MAX_ID)
    true_value: int = Field(ge=0, le=1, strict=True, description="0: missed, 1: made")


class Message(BaseModel):
    message: str


class HistoryItem(BaseModel):
    prediction_id: int
    prediction: Literal[0, 1]
    probability: float
    model_version: str
    created_at: dt.datetime
    input: dict[str, Any]
    verified_outcome: Literal[0, 1] | None = Field(
        description="What happened: from the data when the ingest of the shot gave it, "
        "else from a person's label"
    )
    outcome_source: Literal["data", "user"] | None = Field(
        None, description="`data`: the ingest of the shot; `user`: a person's label"
    )
    purpose: Literal["shot", "grid"] = "shot"


class PredictionHistory(BaseModel):
    items: list[HistoryItem]
    total: int
    limit: int
    offset: int
