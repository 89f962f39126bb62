"""The champion served, its players, and (administrators) reloading it now."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from nba_mlops.api.deps import AdminUser, PredictorDep, ServicesDep
from nba_mlops.api.live_quality import live_reliability
from nba_mlops.api.schemas.common import ShortText
from nba_mlops.api.schemas.models import (
    CurrentModel,
    ModelQuality,
    PlayerList,
    ReliabilityBin,
    ReloadResult,
)
from nba_mlops.registry import Registry

router = APIRouter(tags=["models"])


@router.get(
    "/models/current",
    summary="The champion being served, its holdout metrics and its quality by slice",
    responses={503: {"description": "No model served"}},
)
async def current_model(predictor: PredictorDep, services: ServicesDep) -> CurrentModel:
    info = await predictor.model_info()
    if info is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="No model is being served")
    quality = await asyncio.to_thread(Registry(services.settings).quality, info.version)
    live = await asyncio.to_thread(live_reliability, services.db, info.version)
    return CurrentModel(
        name=info.name,
        version=info.version,
        metrics=info.metrics,
        promoted_at=info.promoted_at,
        quality=ModelQuality.model_validate(quality) if quality else None,
        live_reliability=[ReliabilityBin.model_validate(b) for b in live] if live else None,
    )


@router.post(
    "/models/reload",
    summary="Load the champion now instead of at the next poll (administrators)",
    responses={403: {"description": "Not an administrator"}},
)
async def reload_model(
    predictor: PredictorDep,
    admin: AdminUser,
    force: Annotated[bool, Query(description="Reload even when the version is unchanged")] = False,
) -> ReloadResult:
    outcome = await predictor.reload(force=force)
    return ReloadResult(
        changed=outcome.changed,
        version=outcome.version,
        previous=outcome.previous,
        message=outcome.message,
    )


@router.get(
    "/players",
    summary="Players the champion was trained on, most shots first",
    responses={503: {"description": "No model served"}},
)
async def players(
    predictor: PredictorDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 50,
    q: Annotated[ShortText | None, Query(description="Part of the player's name")] = None,
) -> PlayerList:
    found = await predictor.players(q, limit)
    return PlayerList.of(found)
