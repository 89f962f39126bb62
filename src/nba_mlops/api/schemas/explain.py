"""The body of ``POST /predict?explain=true``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from nba_mlops.api.schemas.predictions import PredictionResult


class FeatureContributionBody(BaseModel):
    feature: str = Field(description="A model feature, e.g. `distance_ft` or `action`")
    value: float | str | None = Field(description="Its value for this shot (null: unknown)")
    contribution: float = Field(description="Log-odds it adds to the model's raw score")


class GroupContributionBody(BaseModel):
    group: str = Field(description="location, shot type, clock, shooter or game context")
    contribution: float = Field(description="Sum of its features' contributions")
    features: list[FeatureContributionBody] = Field(description="Largest effect first")


class ExplanationBody(BaseModel):
    available: bool
    family: str = Field(description="The champion's model family")
    reason: str | None = Field(default=None, description="Why there is none, when none")
    base: float | None = Field(
        default=None, description="The model's average raw score (log-odds) over training"
    )
    raw_score: float | None = Field(
        default=None,
        description="base plus every contribution: the raw score calibration maps to the "
        "probability",
    )
    groups: list[GroupContributionBody] = Field(default_factory=list)


class ExplainedPrediction(PredictionResult):
    explanation: ExplanationBody | None = Field(
        default=None, description="Only with `?explain=true`"
    )


class ShotExplanation(BaseModel):
    player_id: int
    game_id: int
    game_event_id: int
    made: int = Field(description="1: it went in")
    expected: float | None = Field(description="The model's make probability for the shot")
    model_version: str | None
    explanation: ExplanationBody
