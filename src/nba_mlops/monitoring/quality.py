"""Live model quality from verified predictions, and the shape of what the model predicts.

Pure computations on arrays and DataFrames: the API's background refresher reads the
``predictions`` table, calls these, and sets the ``nba_live_*`` and
``nba_prediction_*`` gauges (see docs/CONTRACTS.md). Nothing here touches a database.

Accuracy alone says little at a ~42% make rate (always answering "miss" scores ~58%), so
every quality result carries log loss, Brier score and calibration error as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

#: Probabilities are clipped into [eps, 1 - eps] before taking logs, as scikit-learn does,
#: so one confident wrong answer costs a large but finite amount.
LOG_LOSS_EPS = 1e-15
#: Equal-width bins of the predicted probability for the expected calibration error.
ECE_BINS = 10
#: A probability at or above this is a predicted make (label 1).
DECISION_THRESHOLD = 0.5

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LiveQuality:
    """How well one model version did on shots whose outcome is now known."""

    model_version: str | None
    count: int
    accuracy: float
    log_loss: float
    brier: float
    ece: float


@dataclass(frozen=True)
class PredictionDistribution:
    """What one model version has been answering, outcome known or not."""

    model_version: str
    count: int
    mean_probability: float
    positive_share: float


def _as_float_array(values: Sequence[float] | npt.ArrayLike | pd.Series) -> FloatArray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def expected_calibration_error(
    y_true: npt.ArrayLike, probability: npt.ArrayLike, n_bins: int = ECE_BINS
) -> float:
    """Weighted mean gap between predicted probability and make rate over equal-width bins.

    A probability of exactly 1.0 falls in the last bin. NaN for no rows.
    """
    y = _as_float_array(y_true)
    p = _as_float_array(probability)
    if y.size == 0:
        return float("nan")
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins).astype(np.float64)
    made = np.bincount(bins, weights=y, minlength=n_bins)
    prob_sum = np.bincount(bins, weights=p, minlength=n_bins)
    occupied = counts > 0
    gaps = np.abs(made[occupied] - prob_sum[occupied]) / counts[occupied]
    return float(np.sum(gaps * counts[occupied]) / y.size)


def live_quality(
    y_true: npt.ArrayLike,
    probability: npt.ArrayLike,
    model_version: str | None = None,
) -> LiveQuality:
    """Accuracy, clipped log loss, Brier score and 10-bin ECE of made (1) / missed (0) shots.

    Every metric is NaN when there are no rows; ``count`` says how many there were.
    """
    y = _as_float_array(y_true)
    p = _as_float_array(probability)
    if y.shape != p.shape:
        raise ValueError(f"{y.size} outcomes but {p.size} probabilities")
    if y.size and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("verified outcomes must be 0 (missed) or 1 (made)")
    if y.size and ((p < 0.0) | (p > 1.0) | np.isnan(p)).any():
        raise ValueError("probabilities must lie in [0, 1]")
    if y.size == 0:
        nan = float("nan")
        return LiveQuality(model_version, 0, nan, nan, nan, nan)
    clipped = np.clip(p, LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
    log_loss = -np.mean(y * np.log(clipped) + (1.0 - y) * np.log(1.0 - clipped))
    predicted = (p >= DECISION_THRESHOLD).astype(np.float64)
    return LiveQuality(
        model_version=model_version,
        count=int(y.size),
        accuracy=float(np.mean(predicted == y)),
        log_loss=float(log_loss),
        brier=float(np.mean((p - y) ** 2)),
        ece=expected_calibration_error(y, p),
    )


def _in_time_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in time order when a timestamp is there, else as given (assumed chronological)."""
    for column in ("verified_at", "created_at"):
        if column in frame.columns:
            return frame.sort_values(column, kind="stable")
    return frame


def live_quality_by_version(
    frame: pd.DataFrame, window: int | None = None
) -> dict[str, LiveQuality]:
    """Live quality per model version from prediction rows.

    ``frame`` has columns ``model_version, verified_outcome, probability``; rows without a
    verified outcome are ignored. With ``window`` only the latest ``window`` verified rows
    of each version count (ordered by ``verified_at``, else ``created_at``, else row
    order), so the gauges follow the recent past instead of the version's whole life.
    """
    _require(frame, ("model_version", "verified_outcome", "probability"))
    if window is not None and window < 1:
        raise ValueError("window must be a positive number of predictions")
    verified = _in_time_order(frame[frame["verified_outcome"].notna()])
    result: dict[str, LiveQuality] = {}
    for version, rows in verified.groupby(verified["model_version"].astype(str), sort=True):
        recent = rows.tail(window) if window is not None else rows
        result[str(version)] = live_quality(
            recent["verified_outcome"].to_numpy(dtype=np.float64),
            recent["probability"].to_numpy(dtype=np.float64),
            model_version=str(version),
        )
    return result


def prediction_distribution(frame: pd.DataFrame) -> dict[str, PredictionDistribution]:
    """Per model version: how many predictions, their mean probability, the share of 1s.

    The share uses the stored ``label`` column when present, else the probability against
    the 0.5 decision threshold.
    """
    _require(frame, ("model_version", "probability"))
    result: dict[str, PredictionDistribution] = {}
    for version, rows in frame.groupby(frame["model_version"].astype(str), sort=True):
        probability = rows["probability"].to_numpy(dtype=np.float64)
        if "label" in rows.columns and rows["label"].notna().all():
            labels = rows["label"].to_numpy(dtype=np.float64)
        else:
            labels = (probability >= DECISION_THRESHOLD).astype(np.float64)
        result[str(version)] = PredictionDistribution(
            model_version=str(version),
            count=int(probability.size),
            mean_probability=float(np.mean(probability)),
            positive_share=float(np.mean(labels == 1.0)),
        )
    return result


def _require(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"missing columns: {', '.join(missing)}")
