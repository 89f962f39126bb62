"""Why a shot got its probability: the champion's per-feature contributions, grouped.

For a LightGBM champion the contributions are LightGBM's own (``pred_contrib``, exact
tree SHAP values): per model feature, in log-odds of the forest before calibration,
summing with the ``base`` (the forest's average log-odds) to the forest's raw score.
Calibration then maps that score to the probability served, monotonically, so a
feature that pushes the score up pushes the probability up. The features are grouped
into what a person reads: location, shot type, clock, shooter and game context.

Other families (logistic regression, random forest) get no explanation: SHAP is not a
dependency of the project, and the answer says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from nba_mlops.features.columns import SEQUENCE_COLUMNS

GROUPS: Final = ("location", "shot type", "clock", "shooter", "game context")

_GROUP_OF: Final[dict[str, str]] = {
    "distance_ft": "location",
    "angle_deg": "location",
    "loc_y": "location",
    "abs_x": "location",
    "is_corner3": "location",
    "zone_basic": "location",
    "zone_area": "location",
    "zone_range": "location",
    "league_expected": "location",
    "shot_value": "shot type",
    "action": "shot type",
    "period": "clock",
    "seconds_left_period": "clock",
    "seconds_left_game": "clock",
    "is_overtime": "clock",
    "last_seconds": "clock",
    "is_home": "game context",
    "is_playoffs": "game context",
    "season_start_year": "game context",
    "opponent_allowed_excess": "game context",
    "team_season_excess": "game context",
    **dict.fromkeys(SEQUENCE_COLUMNS, "game context"),
}


def group_of(feature: str) -> str:
    """The group a model feature belongs to (the shooter's skill columns: shooter)."""
    if feature in _GROUP_OF:
        return _GROUP_OF[feature]
    if feature.startswith("player_"):
        return "shooter"
    return "game context"


@dataclass(frozen=True)
class FeatureContribution:
    feature: str
    value: float | str | None
    contribution: float


@dataclass(frozen=True)
class GroupContribution:
    group: str
    contribution: float
    features: list[FeatureContribution] = field(default_factory=list)


@dataclass(frozen=True)
class Explanation:
    available: bool
    family: str
    reason: str | None = None
    base: float | None = None
    raw_score: float | None = None
    groups: list[GroupContribution] = field(default_factory=list)


def _unwrap(model: Any) -> Any:
    """The fitted pipeline inside the calibration wrapper (or the model itself)."""
    calibrated = getattr(model, "calibrated_classifiers_", None)
    if calibrated:
        model = calibrated[0].estimator
    return getattr(model, "estimator", model)  # FrozenEstimator keeps it here


def family_of(model: Any) -> str:
    """``lightgbm``, ``random_forest``, ``logistic`` or the estimator's class name."""
    pipeline = _unwrap(model)
    final = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    if hasattr(final, "steps"):
        final = final.steps[-1][1]
    name = type(final).__name__
    return {
        "LGBMClassifier": "lightgbm",
        "RandomForestClassifier": "random_forest",
        "LogisticRegression": "logistic",
    }.get(name, name)


def _value(value: Any) -> float | str | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return None if np.isnan(number) else round(number, 4)


def explain(model: Any, inputs: Mapping[str, np.ndarray] | pd.DataFrame) -> Explanation:
    """Contributions of the first row of ``inputs`` (the model's input columns)."""
    family = family_of(model)
    if family != "lightgbm":
        return Explanation(
            available=False,
            family=family,
            reason=f"Not available for the {family} family: contributions are given for "
            "LightGBM models only",
        )
    pipeline = _unwrap(model)
    frame = inputs if isinstance(inputs, pd.DataFrame) else pd.DataFrame(dict(inputs))
    frame = frame.iloc[:1]
    features = pipeline.steps[0][1].transform(frame)
    forest = pipeline.steps[-1][1]
    contributions = np.asarray(forest.predict(features, pred_contrib=True), dtype="float64")[0]
    names: Sequence[str] = list(features.columns)
    row = features.iloc[0]
    by_group: dict[str, list[FeatureContribution]] = {g: [] for g in GROUPS}
    for name, contribution in zip(names, contributions[:-1], strict=True):
        by_group[group_of(name)].append(
            FeatureContribution(name, _value(row[name]), round(float(contribution), 5))
        )
    groups = [
        GroupContribution(
            group=g,
            contribution=round(sum(f.contribution for f in items), 5),
            features=sorted(items, key=lambda f: -abs(f.contribution)),
        )
        for g, items in by_group.items()
    ]
    return Explanation(
        available=True,
        family=family,
        base=round(float(contributions[-1]), 5),
        raw_score=round(float(contributions.sum()), 5),
        groups=groups,
    )
