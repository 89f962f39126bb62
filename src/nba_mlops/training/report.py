"""Score a registered model on the current holdout, beside both baselines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from nba_mlops.config import Settings
from nba_mlops.data.schema import TARGET
from nba_mlops.features.context import (
    add_shot_context,
    league_expected_rates,
    league_zone_rates,
)
from nba_mlops.inference.batch import load_champion
from nba_mlops.training.evaluate import Baselines, baselines, classification_metrics
from nba_mlops.training.splits import time_split
from nba_mlops.training.train import model_input


@dataclass(frozen=True)
class Evaluation:
    version: int
    holdout_season: int
    rows: int
    with_context: dict[str, float]
    without_context: dict[str, float]
    baselines: Baselines

    def rows_by_model(self) -> dict[str, dict[str, float]]:
        return {
            f"v{self.version}": self.with_context,
            f"v{self.version} without context": self.without_context,
            "constant make rate": self.baselines.constant,
            "logistic on distance": self.baselines.distance_only,
        }

    def summary(self) -> str:
        m = self.with_context
        return (
            f"v{self.version} on holdout {self.holdout_season}: log loss {m['log_loss']:.4f} "
            f"(without context {self.without_context['log_loss']:.4f}; constant "
            f"{self.baselines.constant['log_loss']:.4f}, distance "
            f"{self.baselines.distance_only['log_loss']:.4f}), AUC {m['roc_auc']:.3f}, "
            f"accuracy {m['accuracy']:.3f}, ECE {m['ece']:.4f}"
        )


def evaluate_version(
    settings: Settings,
    version: int | None = None,
    progress: Callable[[str], None] | None = None,
    shots: pd.DataFrame | None = None,
) -> Evaluation:
    """Evaluate ``version`` (default: the champion) on the store's latest season."""
    from nba_mlops.pipeline import load_training_shots

    say = progress or (lambda _m: None)
    say("loading the model")
    model, version = load_champion(settings, version)
    if shots is None:
        say("reading the store")
        shots, _ = load_training_shots(settings)
    latest = int(shots["season_start_year"].max())
    say("computing context")
    league = shots[shots["season_start_year"] < latest]
    zone_rates = league_zone_rates(league)
    shots = add_shot_context(shots, zone_rates, league_expected_rates(league, zone_rates))
    del league
    split = time_split(shots)
    y = split.holdout[TARGET].to_numpy(dtype="int64")
    say("scoring the holdout")
    with_context = classification_metrics(y, model.predict_proba(model_input(split.holdout))[:, 1])
    without = classification_metrics(
        y, model.predict_proba(model_input(split.holdout, with_context=False))[:, 1]
    )
    base = baselines(pd.concat([split.train, split.validation]), split.holdout, TARGET)
    return Evaluation(
        version, split.holdout_season, len(split.holdout), with_context, without, base
    )
