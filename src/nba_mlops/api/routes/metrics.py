"""``GET /metrics`` for Prometheus: open, or behind a bearer token when one is set.

The metrics count users and predictions and name the model; with
``serving.metrics_token`` (or ``serving.metrics_token_file``, where Docker mounts
secrets) only a scraper sending ``Authorization: Bearer <token>`` reads them, as
Prometheus does with ``authorization.credentials_file``.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from nba_mlops import metrics
from nba_mlops.api.schemas.errors import ErrorBody
from nba_mlops.config import Settings

_bearer = HTTPBearer(auto_error=False, description="The metrics token (serving.metrics_token)")


def metrics_token(settings: Settings) -> str | None:
    """The token /metrics requires, or None when it is open; read once, at start-up."""
    serving = settings.serving
    if serving.metrics_token is not None:
        token = serving.metrics_token.get_secret_value().strip()
    elif serving.metrics_token_file is not None:
        token = serving.metrics_token_file.read_text(encoding="utf-8").strip()
    else:
        return None
    if len(token) < 16:
        raise ValueError("the metrics token must have at least 16 characters")
    return token


def _render() -> Response:
    body, content_type = metrics.render_latest()
    return Response(body, media_type=content_type)


def metrics_router(settings: Settings) -> APIRouter:
    """The /metrics route, protected when the settings hold a metrics token."""
    router = APIRouter(tags=["service"])
    token = metrics_token(settings)
    if token is None:

        @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
        async def open_metrics() -> Response:
            return _render()

        return router
    expected = token.encode("utf-8")

    @router.get(
        "/metrics",
        summary="Prometheus metrics (bearer: the metrics token)",
        response_class=Response,
        responses={401: {"model": ErrorBody, "description": "Missing or wrong metrics token"}},
    )
    async def protected_metrics(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Response:
        given = credentials.credentials.encode("utf-8", "replace") if credentials else b""
        if not hmac.compare_digest(given, expected):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="Metrics need 'Authorization: Bearer <metrics token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return _render()

    return router
