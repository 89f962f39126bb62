"""Welcome (or the web page), liveness and readiness (``/metrics``: ``routes.metrics``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response

from nba_mlops import metrics
from nba_mlops.api.deps import ServicesDep
from nba_mlops.api.web import INDEX, wants_json

router = APIRouter(tags=["service"])

WELCOME = "Welcome to the NBA shot prediction API: will this shot go in?"


@router.get(
    "/",
    summary="Welcome message, or the web page when it is built",
    response_model=None,
    responses={200: {"content": {"application/json": {}, "text/html": {}}}},
)
async def welcome(request: Request, services: ServicesDep) -> Response:
    dist = services.web_dist
    if dist is not None and not wants_json(request.headers.get("accept", "")):
        index = dist / INDEX
        if index.is_file():
            return FileResponse(index, media_type="text/html")
    return JSONResponse(
        {"message": WELCOME, "docs": "/docs", "login": "/login", "predict": "/predict"}
    )


@router.get("/health", summary="The process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="A model is loaded and the database answers",
    responses={503: {"description": "Not ready, with the reason"}},
)
async def ready(services: ServicesDep) -> JSONResponse:
    model_ok, model_message = await services.predictor.ready()
    database_ok = await run_in_threadpool(services.db.ping)
    metrics.DATABASE_UP.set(1 if database_ok else 0)
    checks: dict[str, Any] = {
        "model": model_message,
        "database": "reachable" if database_ok else "unreachable",
    }
    if model_ok and database_ok:
        return JSONResponse({"status": "ready", **checks})
    reasons = []
    if not model_ok:
        reasons.append(model_message)
    if not database_ok:
        reasons.append("the database is unreachable")
    return JSONResponse(
        {"detail": "Not ready: " + "; ".join(reasons), "status": "not ready", **checks},
        status_code=503,
    )
