"""How far predicted probabilities are from what happened: the expected calibration error.

One definition for the holdout metrics of training (``training.evaluate``) and the live
quality of monitoring (``monitoring.quality``), so a model's holdout ECE and its live ECE
are the same figure on different shots. Pure NumPy: cheap to import anywhere.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

#: Equal-width bins of the predicted probability.
ECE_BINS: Final = 10


def expected_calibration_error(
    y_true: npt.ArrayLike, probability: npt.ArrayLike, n_bins: int = ECE_BINS
) -> float:
    """Weighted mean gap between predicted probability and make rate over ``n_bins``
    equal-width bins of the probability.

    A probability of exactly 1.0 falls in the last bin. NaN for no rows.
    """
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(probability, dtype=np.float64).reshape(-1)
    if y.size == 0:
        return float("nan")
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins).astype(np.float64)
    made = np.bincount(bins, weights=y, minlength=n_bins)
    predicted = np.bincount(bins, weights=p, minlength=n_bins)
    occupied = counts > 0
    gaps = np.abs(made[occupied] - predicted[occupied]) / counts[occupied]
    return float(np.sum(gaps * counts[occupied]) / y.size)
