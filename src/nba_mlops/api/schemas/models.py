"""Model and player bodies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


class CurrentModel(BaseModel):
    name: str
    version: str
    metrics: dict[str, float]
    promoted_at: dt.datetime | None


class Player(BaseModel):
    model_config = ConfigDict(extra="ignore")

    player_id: int
    player_name: str
    team_name: str | None = None
    shots: int | None = None


class PlayerList(BaseModel):
    players: list[Player]

    @classmethod
    def of(cls, found: list[dict[str, Any]]) -> PlayerList:
        """From the ``players.json`` artifact, skipping entries that are not players."""
        players = []
        for entry in found:
            try:
                players.append(Player.model_validate(entry))
            except ValidationError:
                continue
        return cls(players=players)


class ReloadResult(BaseModel):
    changed: bool
    version: str | None
    previous: str | None
    message: str
