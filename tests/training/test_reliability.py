"""The expected calibration error shared by training's holdout metrics and live quality."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nba_mlops.monitoring.quality import live_quality
from nba_mlops.reliability import expected_calibration_error
from nba_mlops.training.evaluate import classification_metrics


def test_ece_is_zero_when_each_bin_matches_its_make_rate() -> None:
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    p = np.array([0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75])
    assert expected_calibration_error(y, p) == pytest.approx(0.0)


def test_perfectly_calibrated_bins_have_zero_ece() -> None:
    # Ten shots at 0.3 with three made: calibrated exactly.
    assert expected_calibration_error([1, 1, 1, 0, 0, 0, 0, 0, 0, 0], [0.3] * 10) == pytest.approx(
        0.0, abs=1e-12
    )


def test_ece_measures_the_weighted_gap() -> None:
    y = np.array([0, 0, 0, 0])
    p = np.array([0.3, 0.3, 0.9, 0.9])
    # two bins, each half the rows: gaps 0.3 and 0.9
    assert expected_calibration_error(y, p) == pytest.approx(0.6)


def test_ece_pools_a_bin() -> None:
    # Bin [0.3, 0.4): mean probability 0.35, made rate 0.5 -> gap 0.15, weight 2/3.
    # Bin [0.9, 1.0]: probability 1.0 lands in the last bin, made -> gap 0, weight 1/3.
    ece = expected_calibration_error([1, 0, 1], [0.3, 0.4 - 1e-9, 1.0])
    assert ece == pytest.approx(2 / 3 * 0.15, abs=1e-8)


def test_ece_of_no_rows_is_nan() -> None:
    assert math.isnan(expected_calibration_error([], []))


def test_the_bin_count_is_a_parameter() -> None:
    # One bin: the gap between the mean prediction (0.5) and the make rate (0.25).
    y, p = [1, 0, 0, 0], [0.2, 0.4, 0.6, 0.8]
    assert expected_calibration_error(y, p, n_bins=1) == pytest.approx(0.25)


def test_holdout_and_live_quality_report_the_same_figure() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(0.01, 0.99, 500)
    y = (rng.uniform(size=500) < p).astype("int64")
    expected = expected_calibration_error(y, p)
    assert classification_metrics(y, p)["ece"] == pytest.approx(expected)
    assert live_quality(y, p).ece == pytest.approx(expected)
