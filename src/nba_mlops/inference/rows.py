"""Score a request's few shots without pandas or scikit-learn's per-call machinery.

A calibrated LightGBM champion's ``predict_proba`` on a one-row DataFrame costs tens of
milliseconds whatever the number of trees: pandas builds and checks frames, the feature
step builds categorical columns, scikit-learn validates the input at each of its
layers, and LightGBM starts its thread pool. What the model computes is a few hundred
tree walks and a calibration curve. :class:`RowScorer` computes exactly that from the
feature step's arrays (``ShotFeatures.feature_matrix``): LightGBM's own predictor on one
thread, then the model's calibrators averaged as ``CalibratedClassifierCV`` averages
them. It is used only when it gives the model's own probabilities on a set of probe
shots (:data:`PROBES`, missing and unknown fields included); any other model keeps its
``predict_proba``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from nba_mlops.log import get_logger

logger = get_logger(__name__)

# The largest difference in probability tolerated between the two ways of scoring a
# shot: both compute in double precision on the same inputs; only the order of the sums
# of the calibrators' average may differ.
ROW_TOLERANCE: Final = 1e-9

# Shots the row scorer must agree on with the model before it is used: all over the
# court, every period, given and derived zones, known, unknown and oddly spelt action
# types, missing fields, both season types, with and without a shooter and a date.
PROBES: Final[tuple[dict[str, Any], ...]] = (
    {"loc_x": 0, "loc_y": 0},
    {"loc_x": 0, "loc_y": 10, "action_type": "Dunk Shot", "period": 1},
    {"loc_x": -120, "loc_y": 150, "period": 4, "minutes_remaining": 1, "seconds_remaining": 30},
    {"loc_x": 230, "loc_y": 20, "action_type": "Jump Shot", "is_home": True},
    {"loc_x": -235, "loc_y": 40, "action_type": "pullup JUMP shot", "is_home": False},
    {"loc_x": 10, "loc_y": 260, "period": 5, "minutes_remaining": 0, "seconds_remaining": 2},
    {"loc_x": 40, "loc_y": 600, "action_type": "No Such Shot", "season_type": "Playoffs"},
    {
        "loc_x": 5,
        "loc_y": 10,
        "shot_type": "2PT Field Goal",
        "shot_zone_basic": "Restricted Area",
        "shot_zone_area": "Center(C)",
        "shot_zone_range": "Less Than 8 ft.",
        "game_date": "2022-06-11",
    },
    {"loc_x": -60, "loc_y": 80, "player_id": 201939, "game_date": "2023-03-01"},
    {
        "loc_x": 100,
        "loc_y": 100,
        "action_type": "Layup Shot",
        "period": 8,
        "game_date": "1999-11-02",
    },
)


def calibrated(calibrators: Sequence[Any], raw: np.ndarray) -> np.ndarray:
    """The calibrators' average of the forest's output (``raw``), as
    ``CalibratedClassifierCV.predict_proba`` gives it for the positive class."""
    return _average([calibrator.predict for calibrator in calibrators], raw)


def _average(curves: Sequence[Callable[[np.ndarray], np.ndarray]], raw: np.ndarray) -> np.ndarray:
    made = np.mean([curve(raw) for curve in curves], axis=0)
    return np.asarray(made, dtype="float64")


def curve(calibrator: Any) -> Callable[[np.ndarray], np.ndarray]:
    """``calibrator.predict`` for a one-dimensional float64 array, without scikit-learn's
    input checks (a third of a one-shot request's scoring): the same arithmetic on the
    fitted parameters for the two calibrators ``CalibratedClassifierCV`` fits, the
    calibrator's own ``predict`` for anything else."""
    from scipy.special import expit
    from sklearn.calibration import _SigmoidCalibration
    from sklearn.isotonic import IsotonicRegression

    if type(calibrator) is _SigmoidCalibration:
        a, b = calibrator.a_, calibrator.b_

        def sigmoid(raw: np.ndarray) -> np.ndarray:
            return np.asarray(expit(-(a * raw + b)))

        return sigmoid
    interpolate = getattr(calibrator, "f_", None)
    if (
        type(calibrator) is IsotonicRegression
        and calibrator.out_of_bounds == "clip"
        and calibrator.X_thresholds_.dtype == np.float64
        and interpolate is not None
    ):
        low, high = calibrator.X_min_, calibrator.X_max_

        def isotonic(raw: np.ndarray) -> np.ndarray:
            return np.asarray(interpolate(np.clip(raw, low, high)), dtype="float64")

        return isotonic
    predict: Callable[[np.ndarray], np.ndarray] = calibrator.predict
    return predict


@dataclass(frozen=True)
class RowScorer:
    """Feature step -> LightGBM's predictor on one thread -> the model's calibrators."""

    features: Any  # a ShotFeatures
    booster: Any  # the fitted lightgbm.Booster
    calibrators: tuple[Any, ...]
    margin: bool  # whether the calibrators read the raw margin (else the probability)
    n_jobs: int = 1  # LightGBM's threads: one per request; a file's slices may use more
    curves: tuple[Callable[[np.ndarray], np.ndarray], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "curves", tuple(curve(c) for c in self.calibrators))

    def __reduce__(self) -> tuple[Any, ...]:
        # the curves are closures: a worker process rebuilds them from the calibrators
        return (
            RowScorer,
            (self.features, self.booster, self.calibrators, self.margin, self.n_jobs),
        )

    def probabilities(self, columns: Mapping[str, np.ndarray] | pd.DataFrame) -> np.ndarray:
        """Make probabilities of ``features.serving.model_columns``' arrays (or of a model
        input frame)."""
        matrix = self.features.feature_matrix(columns)
        raw = self.booster.predict(matrix, raw_score=self.margin, num_threads=self.n_jobs)
        return _average(self.curves, np.asarray(raw, dtype="float64"))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's ``predict_proba`` of a model input frame (batch scoring)."""
        made = self.probabilities(frame)
        result: np.ndarray = np.column_stack([1.0 - made, made])
        return result

    def agrees_with(self, model: Any, frame: pd.DataFrame) -> float:
        """The largest probability difference from ``model`` on ``frame``."""
        expected = model.predict_proba(frame)[:, 1]
        return float(np.max(np.abs(self.probabilities(frame) - expected), initial=0.0))


def row_scorer(model: Any, *, n_jobs: int = 1) -> RowScorer | None:
    """A :class:`RowScorer` for ``model`` when it is a calibrated LightGBM pipeline and
    gives the model's probabilities on :data:`PROBES` to ``ROW_TOLERANCE``; else None."""
    from nba_mlops.features.serving import model_columns, shot_columns
    from nba_mlops.inference.compiled import model_parts

    parts = model_parts(model)
    if parts is None:
        return None
    features, classifier, calibrators, margin = parts
    scorer = RowScorer(features, classifier.booster_, calibrators, margin, n_jobs)
    columns = model_columns(shot_columns(PROBES))
    try:
        ours = scorer.probabilities(columns)
        theirs = np.asarray(model.predict_proba(pd.DataFrame(columns))[:, 1], dtype="float64")
    except Exception as exc:  # the model's own path still scores: use it
        logger.warning("the row scorer could not score the probe shots (%s): not used", exc)
        return None
    difference = float(np.max(np.abs(ours - theirs), initial=0.0))
    if not difference <= ROW_TOLERANCE:
        logger.warning(
            "the row scorer differs from the model by %.2g on the probe shots: not used",
            difference,
        )
        return None
    return scorer
