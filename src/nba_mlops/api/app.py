"""``create_app(settings)``: the API gateway (auth, predictions, verification, web page)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.telemetry import TelemetryConfig
from fastapi_offline import FastAPIOffline
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from nba_mlops import __version__
from nba_mlops.api.errors import declare_error_bodies, install_error_handlers
from nba_mlops.api.fastpath import PredictFastPath
from nba_mlops.api.routes import auth, history, models, players, predict, root, verify
from nba_mlops.api.routes.metrics import metrics_router
from nba_mlops.api.services import Services
from nba_mlops.api.web import WebPage, find_web_dist
from nba_mlops.config import Settings, get_settings
from nba_mlops.inference.predictor import ShotScorer
from nba_mlops.lifeline import follow_supervisor
from nba_mlops.log import setup_logging
from nba_mlops.metrics import HTTPMetricsMiddleware

NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}

DESCRIPTION = """
Predicts whether an NBA shot goes in.

1. `POST /signup` with `{"username", "password"}`, then **Authorize** (top right) with them.
2. `POST /predict` a shot: at least `loc_x`/`loc_y` (tenths of feet, basket at 0,0), or the
   original project's 39-field payload.
3. Later, `GET /verify_random_prediction` and `POST` what really happened.
"""


def create_app(settings: Settings | None = None, *, predictor: ShotScorer | None = None) -> FastAPI:
    """The API for ``settings`` (default: from the environment).

    Everything with state (database engine, model, writer, refresher) is created when the
    app starts and closed when it stops, so building an app has no side effects.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.build(settings, predictor=predictor)
        app.state.services = services
        await services.start()
        try:
            yield
        finally:
            await services.stop()

    # FastAPIOffline: FastAPI whose /docs loads Swagger UI from the assets its package
    # ships, not from a CDN, so the docs work without internet. No /redoc: ReDoc still
    # fetches its logo from its vendor's site.
    app = FastAPIOffline(
        redoc_url=None,
        # Our own Prometheus metrics instead of FastAPI's OpenTelemetry hooks, which look
        # up the global providers on every request even when nothing is configured.
        telemetry=NO_TELEMETRY,
        title="NBA shot prediction API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        max_body_size=settings.serving.max_body_bytes,
    )
    install_error_handlers(app)
    declare_error_bodies(app)
    # The hot route first: routes are matched in order.
    for module in (predict, auth, root, verify, history, models, players):
        app.include_router(module.router)
    app.include_router(metrics_router(settings))
    if settings.serving.fast_path:
        app.add_middleware(PredictFastPath)  # inside CORS and metrics: both still apply
    if settings.serving.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.serving.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(HTTPMetricsMiddleware)
    if settings.serving.trusted_proxies:
        # Outermost: the client address every route sees is the one a trusted proxy
        # forwarded. ``serve`` runs uvicorn without its own proxy handling, so this
        # setting alone decides whose X-Forwarded-For is believed.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.serving.trusted_proxies)
    dist = find_web_dist(settings)
    if dist is not None:
        # Mounted last: every API route above takes precedence over a static file.
        app.mount("/", WebPage(directory=dist, html=True), name="web")
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (each worker process builds its own app)."""
    settings = get_settings()
    setup_logging(settings)
    follow_supervisor()
    return create_app(settings)
