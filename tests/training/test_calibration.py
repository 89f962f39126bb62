"""The calibration method is chosen by how well it predicts unseen validation rows."""

from __future__ import annotations

import numpy as np

from nba_mlops.training.calibration import MIN_ISOTONIC_ROWS, calibration_scores


def _outcomes(probability: np.ndarray, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(len(probability)) < probability).astype("int64")


def test_scores_already_on_the_logit_scale_keep_the_stiffer_sigmoid() -> None:
    score = np.random.default_rng(0).normal(0, 1, 40_000)
    y = _outcomes(1 / (1 + np.exp(-score)), 1)
    scores = calibration_scores(score, y, seed=0)
    assert set(scores) == {"sigmoid", "isotonic"}
    assert scores["sigmoid"] < scores["isotonic"]


def test_a_step_no_sigmoid_can_follow_goes_to_isotonic() -> None:
    score = np.random.default_rng(2).normal(0, 1, 40_000)
    y = _outcomes(np.where(score < 0.5, 0.2, 0.8), 3)
    scores = calibration_scores(score, y, seed=0)
    assert scores["isotonic"] < scores["sigmoid"]


def test_few_validation_rows_never_get_isotonic() -> None:
    score = np.random.default_rng(4).normal(0, 1, MIN_ISOTONIC_ROWS - 1)
    y = _outcomes(np.where(score < 0.5, 0.2, 0.8), 5)
    assert set(calibration_scores(score, y, seed=0)) == {"sigmoid"}
