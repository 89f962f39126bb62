"""Live model quality from verified predictions, and the shape of what the model predicts.

Pure computations on arrays and DataFrames: the API's background refresher reads the
``predictions`` table, calls these, and sets the ``nba_live_*`` and
``nba_prediction_*`` gauges (see docs/CONTRACTS.md). Nothing here touches a database.

Accuracy and log loss alone say little without what a constant would score: the league
makes about 47% of its shots (45-48% by season), so always answering "miss" is right
about 53% of the time and predicting the make rate for every shot scores a log loss of
about 0.69. Every result therefore carries the *constant* of its own rows: their make
rate, the log loss of predicting that rate for each of them, and the accuracy of always
answering the more frequent outcome. The alert rules compare the live figures with these
and with the model's own holdout figures (``deploy/prometheus/rules/model.yml``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from nba_mlops.reliability import expected_calibration_error

#: Probabilities are clipped into [eps, 1 - eps] before taking logs, as scikit-learn does,
#: so one confident wrong answer costs a large but finite amount.
LOG_LOSS_EPS = 1e-15
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
    #: The same rows' make rate, and what a constant scores on them: the log loss of
    #: predicting that rate for every shot, the accuracy of always answering the more
    #: frequent outcome.
    make_rate: float = float("nan")
    constant_log_loss: float = float("nan")
    constant_accuracy: float = float("nan")


@dataclass(frozen=True)
class PredictionDistribution:
    """What one model version has been answering, outcome known or not."""

    model_version: str
    count: int
    mean_probability: float
    positive_share: float


def _as_float_array(values: Sequence[float] | npt.ArrayLike | pd.Series) -> FloatArray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


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
    log_loss = _log_loss(y, p)
    predicted = (p >= DECISION_THRESHOLD).astype(np.float64)
    rate = float(np.mean(y))
    return LiveQuality(
        model_version=model_version,
        count=int(y.size),
        accuracy=float(np.mean(predicted == y)),
        log_loss=log_loss,
        brier=float(np.mean((p - y) ** 2)),
        ece=expected_calibration_error(y, p),
        make_rate=rate,
        constant_log_loss=_log_loss(y, np.full(y.size, rate)),
        constant_accuracy=max(rate, 1.0 - rate),
    )


def _log_loss(y: FloatArray, p: FloatArray) -> float:
    clipped = np.clip(p, LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
    return float(-np.mean(y * np.log(clipped) + (1.0 - y) * np.log(1.0 - clipped)))


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


def live_quality_by_day(
    frame: pd.DataFrame, days: int | None = None
) -> dict[tuple[str, str], LiveQuality]:
    """Live quality per model version and day, for the latest ``days`` days.

    ``frame`` has ``model_version, verified_outcome, probability, day`` (the shot's game
    date as ``YYYY-MM-DD``, see ``monitoring.windows``); rows without an outcome or a day
    are ignored. Keys are ``(model_version, day)``, oldest day first.
    """
    _require(frame, ("model_version", "verified_outcome", "probability", "day"))
    if days is not None and days < 1:
        raise ValueError("days must be a positive number of days")
    verified = frame[frame["verified_outcome"].notna() & frame["day"].notna()]
    kept = sorted(verified["day"].astype(str).unique())
    if days is not None:
        kept = kept[-days:]
    verified = verified[verified["day"].astype(str).isin(kept)]
    result: dict[tuple[str, str], LiveQuality] = {}
    groups = verified.groupby([verified["day"].astype(str), verified["model_version"].astype(str)])
    for (day, version), rows in sorted(groups, key=lambda item: item[0]):
        result[(str(version), str(day))] = live_quality(
            rows["verified_outcome"].to_numpy(dtype=np.float64),
            rows["probability"].to_numpy(dtype=np.float64),
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
