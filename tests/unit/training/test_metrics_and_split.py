"""Holdout metrics and the time split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nba_mlops.training.evaluate import classification_metrics, expected_calibration_error
from nba_mlops.training.splits import time_split


def test_ece_is_zero_when_each_bin_matches_its_make_rate() -> None:
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    p = np.array([0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75])
    assert expected_calibration_error(y, p) == pytest.approx(0.0)


def test_ece_measures_the_weighted_gap() -> None:
    y = np.array([0, 0, 0, 0])
    p = np.array([0.3, 0.3, 0.9, 0.9])
    # two bins, each half the rows: gaps 0.3 and 0.9
    assert expected_calibration_error(y, p) == pytest.approx(0.6)


def test_metrics_of_a_constant_prediction() -> None:
    y = np.array([1, 0, 0, 1])
    m = classification_metrics(y, np.full(4, 0.5))
    assert m["log_loss"] == pytest.approx(np.log(2))
    assert m["brier"] == pytest.approx(0.25)
    assert m["roc_auc"] == pytest.approx(0.5)


def _shots(seasons: dict[int, int]) -> pd.DataFrame:
    rows = [s for s, n in seasons.items() for _ in range(n)]
    return pd.DataFrame({"season_start_year": rows, "shot_made_flag": 0})


def test_latest_season_is_the_holdout_and_the_one_before_validates() -> None:
    split = time_split(_shots({2019: 50, 2020: 30, 2021: 20}))
    assert split.holdout_season == 2021
    assert set(split.holdout["season_start_year"]) == {2021}
    assert set(split.validation["season_start_year"]) == {2020}
    assert set(split.train["season_start_year"]) == {2019}


def test_tiny_previous_season_falls_back_to_the_tail() -> None:
    split = time_split(_shots({2019: 1000, 2020: 3, 2021: 20}))
    assert split.validation_season is None
    assert len(split.train) + len(split.validation) == 1003
    assert split.train.index.max() < split.validation.index.min()


def test_one_season_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="at least two seasons"):
        time_split(_shots({2021: 10}))
