"""A player's real shots from the store against the model: chart and zone figures."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from typing import Annotated, Any

import orjson
import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from nba_mlops.api.deps import PredictorDep, ServicesDep
from nba_mlops.api.errors import invalid_field
from nba_mlops.api.schemas.explain import ExplanationBody, ShotExplanation
from nba_mlops.api.schemas.players import ChartShot, PlayerShots, PlayerZones, ZoneLine, ZoneScope
from nba_mlops.api.shotchart import PlayerNotFoundError, ShotChart, ZoneFigures, season_label_ok
from nba_mlops.explain import Explanation, explain
from nba_mlops.inference.predictor import ShotScorer

router = APIRouter(prefix="/players", tags=["players"])

PlayerId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The NBA's player id")]
SEASON_PATTERN = r"^\d{4}-\d{2}$"
Season = Annotated[
    str | None, Query(pattern=SEASON_PATTERN, description="A season, e.g. `2015-16`")
]


def _chart(request: Request, services: ServicesDep) -> ShotChart:
    chart: ShotChart | None = getattr(request.app.state, "shot_chart", None)
    if chart is None:
        chart = ShotChart(services.settings)
        request.app.state.shot_chart = chart
    return chart


def _model(predictor: ShotScorer) -> tuple[Any, str | None]:
    """The champion this process holds and its version (none when scoring is remote).

    Blocking: a champion scored from its bundle loads the model itself on this first
    call (a few seconds), so call this in a worker thread, never on the loop."""
    loaded = getattr(predictor, "current", None)
    if loaded is None:
        return None, None
    return loaded.model, str(loaded.version)


def _check_season(season: str | None) -> None:
    if season is not None and not season_label_ok(season):
        raise invalid_field("season", f"{season!r} is not a season like 2015-16", "query")


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 4)


def _line(z: ZoneFigures) -> ZoneLine:
    return ZoneLine(
        zone=z.zone,
        attempts=z.attempts,
        makes=z.makes,
        make_rate=_number(z.make_rate),
        expected_rate=_number(z.expected_rate),
        points_above_expected=_number(z.points_above_expected),
        league_attempts=z.league_attempts,
        league_make_rate=_number(z.league_make_rate),
    )


_SHOT_FIELDS = tuple(ChartShot.model_fields)


def _shots_body(
    shots: pd.DataFrame,
    player_id: int,
    season: str | None,
    version: str | None,
    offset: int,
    limit: int,
) -> bytes:
    """The ``PlayerShots`` body, built from the columns (a season is ~2,000 shots:
    validating a model per shot would cost more than reading and scoring them)."""
    page = shots.iloc[offset : offset + limit]
    days = page["game_date"]
    columns: dict[str, list[Any]] = {
        "game_id": page["game_id"].astype("int64").tolist(),
        "game_event_id": page["game_event_id"].astype("int64").tolist(),
        "game_date": [None if pd.isna(d) else d.date().isoformat() for d in days.tolist()],
        "season": page["season"].astype(str).tolist(),
        "season_type": page["season_type"].astype(str).tolist(),
        "period": page["period"].astype("int64").tolist(),
        "minutes_remaining": page["minutes_remaining"].astype("int64").tolist(),
        "seconds_remaining": page["seconds_remaining"].astype("int64").tolist(),
        "action_type": page["action_type"].astype(str).tolist(),
        "shot_type": page["shot_type"].astype(str).tolist(),
        "zone": page["zone"].astype(str).tolist(),
        "loc_x": page["loc_x"].astype("int64").tolist(),
        "loc_y": page["loc_y"].astype("int64").tolist(),
        "made": (page["shot_made_flag"].to_numpy() != 0).astype("int64").tolist(),
        "expected": [
            None if math.isnan(p) else round(p, 4)
            for p in page["expected"].to_numpy("float64").tolist()
        ],
    }
    rows = [
        dict(zip(_SHOT_FIELDS, values, strict=True))
        for values in zip(*(columns[f] for f in _SHOT_FIELDS), strict=True)
    ]
    end = offset + len(rows)
    return orjson.dumps(
        {
            "player_id": player_id,
            "player_name": str(shots["player_name"].iloc[-1]),
            "season": season,
            "model_version": version,
            "total": len(shots),
            "offset": offset,
            "limit": limit,
            "next_offset": end if end < len(shots) else None,
            "shots": rows,
        }
    )


@router.get(
    "/{player_id}/shots",
    summary="A player's shots from the store, made or missed, with the model's expectation",
    response_model=PlayerShots,
    responses={404: {"description": "No shot of this player (in this season)"}},
)
async def player_shots(
    request: Request,
    services: ServicesDep,
    predictor: PredictorDep,
    player_id: PlayerId,
    season: Season = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 2000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    _check_season(season)
    chart = _chart(request, services)

    def answer() -> bytes:
        model, version = _model(predictor)
        shots = chart.player_shots(player_id, season, model, version)
        return _shots_body(shots, player_id, season, version, offset, limit)

    try:
        body = await asyncio.to_thread(answer)
    except PlayerNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    return Response(body, media_type="application/json")


@router.get(
    "/{player_id}/zones",
    summary="A player's attempts, make rate, expected rate and points above expected by zone",
    responses={404: {"description": "No shot of this player (in this season)"}},
)
async def player_zones(
    request: Request,
    services: ServicesDep,
    predictor: PredictorDep,
    player_id: PlayerId,
    season: Season = None,
) -> PlayerZones:
    _check_season(season)
    chart = _chart(request, services)
    try:
        model, version = await asyncio.to_thread(_model, predictor)
        name, scopes = await asyncio.to_thread(chart.scopes, player_id, season, model, version)
        career = await asyncio.to_thread(chart.player_shots, player_id, None, model, version)
    except PlayerNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    return PlayerZones(
        player_id=player_id,
        player_name=name,
        model_version=version,
        seasons=sorted(career["season"].astype(str).unique().tolist()),
        scopes=[
            ZoneScope(
                scope=s.scope,
                season=s.season,
                zones=[_line(z) for z in s.zones],
                total=_line(s.total),
            )
            for s in scopes
        ],
    )


@router.get(
    "/{player_id}/shots/{game_id}/{game_event_id}/explanation",
    summary="Why the model expected what it did of one of the player's stored shots",
    responses={404: {"description": "No such shot of this player"}},
)
async def shot_explanation(
    request: Request,
    services: ServicesDep,
    predictor: PredictorDep,
    player_id: PlayerId,
    game_id: Annotated[int, Path(ge=1, le=2**62)],
    game_event_id: Annotated[int, Path(ge=0, le=999_999)],
    season: Season = None,
) -> ShotExplanation:
    _check_season(season)
    chart = _chart(request, services)

    def answer() -> ShotExplanation:
        model, version = _model(predictor)
        shot, inputs = chart.shot_inputs(player_id, season, game_id, game_event_id, model, version)
        found = (
            explain(model, inputs)
            if model is not None
            else Explanation(
                available=False,
                family="unknown",
                reason="No model in this process: scoring is remote or no champion is loaded",
            )
        )
        return ShotExplanation(
            player_id=player_id,
            game_id=game_id,
            game_event_id=game_event_id,
            made=1 if int(shot["shot_made_flag"]) else 0,
            expected=_number(float(shot["expected"])),
            model_version=version,
            explanation=ExplanationBody.model_validate(dataclasses.asdict(found)),
        )

    try:
        return await asyncio.to_thread(answer)
    except PlayerNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
