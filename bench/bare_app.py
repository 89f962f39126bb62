"""The floor to compare the API with: FastAPI parsing the same shot body, answering a constant.

No auth, no model, no database: what the framework costs on this machine.

    uv run uvicorn bench.bare_app:app --workers 2 --loop uvloop --http httptools
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, FastAPI
from pydantic import BaseModel

from nba_mlops.api.app import NO_TELEMETRY
from nba_mlops.api.schemas.shots import ShotPayload

# The same FastAPI settings as the API (telemetry hooks off), so only the work differs.
app = FastAPI(title="bare shot parser", telemetry=NO_TELEMETRY)


class Constant(BaseModel):
    prediction: int
    probability: float
    model_version: str
    prediction_id: int


@app.post("/predict")
async def predict(shot: Annotated[ShotPayload, Body()]) -> Constant:
    shot.to_record()  # the same per-request work on the body as the API
    return Constant(prediction=0, probability=0.5, model_version="0", prediction_id=0)
