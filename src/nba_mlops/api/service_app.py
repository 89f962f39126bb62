"""The prediction service as an app of its own (port 8001): score raw records, nothing else.

Runs the same :class:`~nba_mlops.inference.predictor.Predictor` (champion, hot reload,
micro-batching) without users or a database, so API gateways can scale apart from the
model: ``nba-mlops serve --service prediction`` here, ``PREDICTION_SERVICE_URL`` there.
Meant for a private network: it has no authentication of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from nba_mlops import __version__, metrics
from nba_mlops.api.app import NO_TELEMETRY
from nba_mlops.api.errors import declare_error_bodies, install_error_handlers
from nba_mlops.api.routes.metrics import metrics_router
from nba_mlops.api.schemas.common import ShortText
from nba_mlops.api.schemas.models import CurrentModel, PlayerList, ReloadResult
from nba_mlops.api.schemas.shots import ServiceScoreRequest
from nba_mlops.config import Settings, get_settings
from nba_mlops.inference.predictor import Predictor
from nba_mlops.lifeline import follow_supervisor
from nba_mlops.log import setup_logging
from nba_mlops.metrics import HTTPMetricsMiddleware

router = APIRouter()


class ScoreResult(BaseModel):
    probabilities: list[float]
    model_version: str


def _predictor(request: Request) -> Predictor:
    predictor: Predictor = request.app.state.predictor
    return predictor


@router.post("/predict", summary="Make probabilities of raw shot records")
async def score(body: ServiceScoreRequest, request: Request) -> ScoreResult:
    records = [shot.to_record() for shot in body.records]
    scored = await _predictor(request).predict(records)
    return ScoreResult(probabilities=scored.probabilities, model_version=scored.model_version)


@router.get("/health", summary="The process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="A model is loaded")
async def ready(request: Request) -> JSONResponse:
    ok, message = await _predictor(request).ready()
    if ok:
        return JSONResponse({"status": "ready", "model": message})
    return JSONResponse({"detail": f"Not ready: {message}"}, status_code=503)


@router.get("/models/current", summary="The champion served")
async def current_model(request: Request) -> CurrentModel:
    info = await _predictor(request).model_info()
    if info is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="No model is being served")
    return CurrentModel(
        name=info.name, version=info.version, metrics=info.metrics, promoted_at=info.promoted_at
    )


@router.post("/models/reload", summary="Load the champion now")
async def reload_model(request: Request, force: Annotated[bool, Query()] = False) -> ReloadResult:
    outcome = await _predictor(request).reload(force=force)
    return ReloadResult(
        changed=outcome.changed,
        version=outcome.version,
        previous=outcome.previous,
        message=outcome.message,
    )


@router.get("/players", summary="Players the champion was trained on")
async def players(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=5000)] = 50,
    q: Annotated[ShortText | None, Query()] = None,
) -> PlayerList:
    found: list[dict[str, Any]] = await _predictor(request).players(q, limit)
    return PlayerList.of(found)


def create_service_app(settings: Settings | None = None) -> FastAPI:
    """The prediction service for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics.forget_dead_workers()
        predictor = Predictor(settings)
        app.state.predictor = predictor
        await predictor.start()
        try:
            yield
        finally:
            await predictor.stop()

    app = FastAPI(
        telemetry=NO_TELEMETRY,
        title="NBA shot prediction service",
        version=__version__,
        lifespan=lifespan,
        max_body_size=settings.serving.max_body_bytes,
    )
    install_error_handlers(app)
    declare_error_bodies(app)
    app.include_router(router)
    app.include_router(metrics_router(settings))
    app.add_middleware(HTTPMetricsMiddleware)
    return app


def create_service_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``."""
    settings = get_settings()
    setup_logging(settings)
    follow_supervisor()
    return create_service_app(settings)
