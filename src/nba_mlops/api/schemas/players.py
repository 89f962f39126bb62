"""Bodies of a player's shot chart and zone figures."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class ChartShot(BaseModel):
    game_id: int
    game_event_id: int
    game_date: dt.date | None
    season: str
    season_type: str
    period: int
    minutes_remaining: int
    seconds_remaining: int
    action_type: str
    shot_type: str
    zone: str = Field(description="The basic zone (`Mid-Range`, `Left Corner 3`, ...)")
    loc_x: int = Field(description="Tenths of feet from the basket, across the court")
    loc_y: int = Field(description="Tenths of feet from the basket, towards half court")
    made: Literal[0, 1]
    expected: float | None = Field(
        description="The served model's make probability for the shot, from its context "
        "before the shot; null when no model is served in this process"
    )


class PlayerShots(BaseModel):
    player_id: int
    player_name: str
    season: str | None = Field(description="The season asked for; null: the whole career")
    model_version: str | None
    total: int = Field(description="Shots of the player in the season (or career)")
    offset: int
    limit: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last")
    shots: list[ChartShot]


class ZoneLine(BaseModel):
    zone: str = Field(description="A basic zone, or `All` for the total")
    attempts: int
    makes: int
    make_rate: float | None
    expected_rate: float | None = Field(description="Mean of the model's make probabilities")
    points_above_expected: float | None = Field(
        description="Sum of the shot's value (2 or 3) times made minus expected"
    )
    league_attempts: int = Field(description="Every stored shot from the zone, same seasons")
    league_make_rate: float | None


class ZoneScope(BaseModel):
    scope: Literal["current", "season", "career"]
    season: str | None = Field(description="The season; null for the career")
    zones: list[ZoneLine]
    total: ZoneLine


class PlayerZones(BaseModel):
    player_id: int
    player_name: str
    model_version: str | None
    seasons: list[str] = Field(description="Seasons the player has shots in, oldest first")
    scopes: list[ZoneScope]
