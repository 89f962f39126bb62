"""Model and player bodies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class SliceFigures(BaseModel):
    value: str | None = Field(default=None, description="The slice's value; none overall")
    shots: int
    log_loss: float
    ece: float = Field(description="Expected calibration error over ten bins")
    accuracy: float = Field(description="At a 0.5 threshold")
    mean_predicted: float
    make_rate: float


class ReliabilityBin(BaseModel):
    bin_low: float
    bin_high: float
    shots: int
    mean_predicted: float | None
    make_rate: float | None


class ModelQuality(BaseModel):
    """The champion's holdout quality by slice and its reliability diagram's data."""

    overall: SliceFigures
    reliability: list[ReliabilityBin]
    slices: dict[str, list[SliceFigures]] = Field(
        description="By zone, shot_type, period, playoffs, season and shooter_volume"
    )


class CurrentModel(BaseModel):
    name: str
    version: str
    metrics: dict[str, float]
    promoted_at: dt.datetime | None
    quality: ModelQuality | None = Field(
        default=None, description="Null for a version trained before quality was kept"
    )
    live_reliability: list[ReliabilityBin] | None = Field(
        default=None,
        description="The same bins for this version's live predictions whose outcome is "
        "known (from the data or a verification); null when the database cannot answer",
    )


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
