"""Holdout metrics and the two baselines every model is printed beside."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

PROBABILITY_CLIP = 1e-6
METRIC_NAMES = ("log_loss", "brier", "roc_auc", "accuracy", "ece")


def expected_calibration_error(
    y_true: np.ndarray, probability: np.ndarray, bins: int = 10
) -> float:
    """Mean gap between predicted and observed make rate over equal-width bins, weighted."""
    y = np.asarray(y_true, dtype="float64")
    p = np.asarray(probability, dtype="float64")
    if len(y) == 0:
        return float("nan")
    index = np.minimum((p * bins).astype(int), bins - 1)
    counts = np.bincount(index, minlength=bins)
    sum_p = np.bincount(index, weights=p, minlength=bins)
    sum_y = np.bincount(index, weights=y, minlength=bins)
    filled = counts > 0
    gaps = np.abs(sum_p[filled] - sum_y[filled]) / counts[filled]
    return float(np.sum(gaps * counts[filled]) / len(y))


def classification_metrics(y_true: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """Log loss (primary), Brier, ROC AUC, accuracy at 0.5 and calibration error."""
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
    """Score both baselines on the holdout, fitted on the training rows only."""
    y_train = train[target].to_numpy(dtype="int64")
    y_holdout = holdout[target].to_numpy(dtype="int64")
    rate = float(y_train.mean())
    constant = classification_metrics(y_holdout, np.full(len(y_holdout), rate))
    model = LogisticRegression(max_iter=200).fit(_distance(train), y_train)
    distance_only = classification_metrics(y_holdout, model.predict_proba(_distance(holdout))[:, 1])
    return Baselines(constant=constant, distance_only=distance_only)
