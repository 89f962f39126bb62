"""Holdout metrics and the two baselines every model is printed beside."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nba_mlops.reliability import expected_calibration_error

PROBABILITY_CLIP = 1e-6
METRIC_NAMES = ("log_loss", "brier", "roc_auc", "accuracy", "ece")


def classification_metrics(y_true: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """Log loss (primary), Brier, ROC AUC, accuracy at 0.5 and calibration error."""
    # scikit-learn is imported where it is used: the API imports this module's constants
    # (the reliability bins, through ``training.slices``) and should not load it at start.
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(y_true, dtype="int64")
    p = np.clip(np.asarray(probability, dtype="float64"), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    both_classes = len(np.unique(y)) == 2
    return {
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "roc_auc": float(roc_auc_score(y, p)) if both_classes else float("nan"),
        "accuracy": float(np.mean((p >= 0.5) == y)),
        "ece": expected_calibration_error(y, p),
    }


@dataclass(frozen=True)
class Baselines:
    """Reference points: always the training make rate; logistic regression on distance."""

    constant: dict[str, float]
    distance_only: dict[str, float]


def _distance(shots: pd.DataFrame) -> np.ndarray:
    x = shots["loc_x"].to_numpy(dtype="float64")
    y = shots["loc_y"].to_numpy(dtype="float64")
    distance: np.ndarray = (np.hypot(x, y) / 10.0).reshape(-1, 1)
    return distance


def baselines(train: pd.DataFrame, holdout: pd.DataFrame, target: str) -> Baselines:
    from sklearn.linear_model import LogisticRegression

    """Score both baselines on the holdout, fitted on the training rows only."""
    y_train = train[target].to_numpy(dtype="int64")
    y_holdout = holdout[target].to_numpy(dtype="int64")
    rate = float(y_train.mean())
    constant = classification_metrics(y_holdout, np.full(len(y_holdout), rate))
    model = LogisticRegression(max_iter=200).fit(_distance(train), y_train)
    distance_only = classification_metrics(y_holdout, model.predict_proba(_distance(holdout))[:, 1])
    return Baselines(constant=constant, distance_only=distance_only)


# --- the quick reference ------------------------------------------------------------------------
# A deliberately simple LightGBM every model must beat: location, action type, clock,
# season, and the shooter's make rate by zone over their earlier seasons. Nothing from the
# shot's own season about the shooter, nothing about the game.
REFERENCE_ROWS = 1_000_000
REFERENCE_SMOOTHING = 25.0


def _reference_frame(shots: pd.DataFrame, zone_rates: pd.Series) -> pd.DataFrame:
    """Features of the quick reference, for shots of any seasons (in time order)."""
    player = shots["player_id"].to_numpy("int64")
    zone = shots["shot_zone_basic"].astype("object").to_numpy()
    season = shots["season_start_year"].to_numpy("int64")
    made = shots["shot_made_flag"].to_numpy("float64")
    per_season = (
        pd.DataFrame({"player": player, "zone": zone, "season": season, "made": made})
        .groupby(["player", "zone", "season"])["made"]
        .agg(["sum", "count"])
        .reset_index()
        .sort_values(["player", "zone", "season"])
    )
    grouped = per_season.groupby(["player", "zone"])
    per_season["made_before"] = grouped["sum"].cumsum() - per_season["sum"]
    per_season["att_before"] = grouped["count"].cumsum() - per_season["count"]
    found = pd.DataFrame({"player": player, "zone": zone, "season": season}).merge(
        per_season, on=["player", "zone", "season"], how="left"
    )
    prior = pd.Series(zone).map(zone_rates).fillna(float(zone_rates.mean())).to_numpy()
    rate = (found["made_before"].to_numpy() + REFERENCE_SMOOTHING * prior) / (
        found["att_before"].to_numpy() + REFERENCE_SMOOTHING
    )
    x = shots["loc_x"].to_numpy("float64")
    y = shots["loc_y"].to_numpy("float64")
    return pd.DataFrame(
        {
            "loc_x": x,
            "loc_y": y,
            "distance": np.hypot(x, y) / 10.0,
            "action": pd.Categorical(shots["action_type"].astype("object")),
            "period": shots["period"].to_numpy("float64"),
            "clock": (shots["minutes_remaining"] * 60 + shots["seconds_remaining"]).to_numpy(
                "float64"
            ),
            "season": season.astype("float64"),
            "player_zone_rate": rate,
        }
    )


def quick_reference(
    train: pd.DataFrame, test: pd.DataFrame, target: str, seed: int = 42
) -> dict[str, float]:
    """The quick reference's metrics on ``test``, fitted on the latest ``train`` rows."""
    import lightgbm as lgb

    recent = train.iloc[-REFERENCE_ROWS:]
    zone_rates = recent.groupby("shot_zone_basic", observed=True)[target].mean()
    both = pd.concat([train, test], ignore_index=True)
    frame = _reference_frame(both, zone_rates)
    x_train = frame.iloc[len(train) - len(recent) : len(train)]
    x_test = frame.iloc[len(train) :]
    model = lgb.LGBMClassifier(
        n_estimators=300,
        learning_rate=0.05,
        num_leaves=63,
        min_child_samples=100,
        subsample=0.8,
        subsample_freq=1,
        random_state=seed,
        verbose=-1,
    )
    model.fit(x_train, recent[target].to_numpy("int64"))
    probability = np.asarray(model.predict_proba(x_test))[:, 1]
    return classification_metrics(test[target].to_numpy("int64"), probability)
