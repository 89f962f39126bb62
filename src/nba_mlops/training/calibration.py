"""Which calibration a candidate gets: the one that predicts unseen validation rows best.

Each candidate is calibrated on the validation season. Isotonic regression can follow any
monotone distortion but overfits where the scores are already close to calibrated (as
boosted trees trained on log loss are); a sigmoid fit is stiffer. Both are scored by
cross-validation on the validation rows, on the same folds, and the lower log loss wins.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

# Below this many validation rows isotonic regression is not considered at all.
MIN_ISOTONIC_ROWS = 20_000
FOLDS = 5


def calibration_scores(score: np.ndarray, y: np.ndarray, seed: int) -> dict[str, float]:
    """Cross-validated log loss of each calibration method on ``score`` (the model's
    decision function or probability) against the outcomes ``y``."""
    methods: dict[str, Any] = {"sigmoid": lambda: LogisticRegression(C=1e6)}
    if len(y) >= MIN_ISOTONIC_ROWS:
        methods["isotonic"] = lambda: IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(score, y))
    result = {}
    for name, make in methods.items():
        predicted = np.empty(len(y))
        for fit_rows, test_rows in folds:
            calibrator = make()
            if name == "sigmoid":
                calibrator.fit(score[fit_rows, None], y[fit_rows])
                predicted[test_rows] = calibrator.predict_proba(score[test_rows, None])[:, 1]
            else:
                calibrator.fit(score[fit_rows], y[fit_rows])
                predicted[test_rows] = calibrator.predict(score[test_rows])
        result[name] = float(log_loss(y, np.clip(predicted, 1e-6, 1 - 1e-6), labels=[0, 1]))
    return result


def choose_calibration(model: Any, x: pd.DataFrame, y: np.ndarray, seed: int) -> str:
    """The calibration method for ``model`` (fitted) judged on ``x``/``y``."""
    if hasattr(model, "decision_function"):
        score = np.asarray(model.decision_function(x), dtype="float64")
    else:
        score = np.asarray(model.predict_proba(x)[:, 1], dtype="float64")
    scores = calibration_scores(score, np.asarray(y), seed)
    return min(scores, key=lambda name: scores[name])
