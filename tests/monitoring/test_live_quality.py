"""Live quality and prediction distribution on small cases worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from nba_mlops.monitoring.quality import (
    live_quality,
    live_quality_by_day,
    live_quality_by_version,
    prediction_distribution,
)


def test_known_small_case() -> None:
    # Predictions 0.9 (made), 0.2 (missed), 0.6 (missed), 0.4 (made):
    # labels 1, 0, 1, 0 -> right, right, wrong, wrong.
    quality = live_quality([1, 0, 0, 1], [0.9, 0.2, 0.6, 0.4], model_version="3")
    assert quality.model_version == "3"
    assert quality.count == 4
    assert quality.accuracy == pytest.approx(0.5)
    expected_log_loss = -(math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.4)) / 4
    assert quality.log_loss == pytest.approx(expected_log_loss)
    assert quality.brier == pytest.approx((0.01 + 0.04 + 0.36 + 0.36) / 4)
    # Every prediction sits alone in its bin: ECE is the mean absolute error.
    assert quality.ece == pytest.approx((0.1 + 0.2 + 0.6 + 0.6) / 4)


def test_log_loss_is_clipped_not_infinite() -> None:
    quality = live_quality([1, 0], [0.0, 1.0])
    assert math.isfinite(quality.log_loss)
    assert quality.log_loss == pytest.approx(-math.log(1e-15), rel=1e-4)
    assert quality.accuracy == 0.0


def test_threshold_half_counts_as_made() -> None:
    assert live_quality([1], [0.5]).accuracy == 1.0


def test_empty_input_gives_nan_and_zero_count() -> None:
    quality = live_quality([], [])
    assert quality.count == 0
    assert math.isnan(quality.accuracy) and math.isnan(quality.log_loss)
    assert math.isnan(quality.brier) and math.isnan(quality.ece)


@pytest.mark.parametrize(
    ("outcomes", "probabilities"),
    [([1, 0], [0.5]), ([2], [0.5]), ([1], [1.5]), ([1], [float("nan")])],
)
def test_bad_input_is_refused(outcomes: list[float], probabilities: list[float]) -> None:
    with pytest.raises(ValueError):
        live_quality(outcomes, probabilities)


def test_by_version_ignores_unverified_and_groups() -> None:
    frame = pd.DataFrame(
        {
            "model_version": ["1", "1", "2", "2", "2"],
            "verified_outcome": [1, 0, 1, None, 0],
            "probability": [0.8, 0.3, 0.4, 0.9, 0.1],
        }
    )
    result = live_quality_by_version(frame)
    assert sorted(result) == ["1", "2"]
    assert result["1"].count == 2 and result["1"].accuracy == 1.0
    assert result["2"].count == 2 and result["2"].accuracy == 0.5
    assert result["2"].model_version == "2"


def test_rolling_window_keeps_latest_verified_per_version() -> None:
    frame = pd.DataFrame(
        {
            "model_version": [4, 4, 4, 4],
            "verified_outcome": [0, 0, 1, 1],
            # verified out of row order: the two latest are the right answers
            "probability": [0.9, 0.1, 0.9, 0.8],
            "verified_at": pd.to_datetime(["2024-01-01", "2024-01-04", "2024-01-03", "2024-01-02"]),
        }
    )
    result = live_quality_by_version(frame, window=2)
    assert result["4"].count == 2
    # latest two by verified_at: rows 2 (0.1, missed) and 3 (0.9, made) -> both right
    assert result["4"].accuracy == 1.0
    assert live_quality_by_version(frame)["4"].accuracy == 0.75


def test_window_must_be_positive() -> None:
    frame = pd.DataFrame({"model_version": [], "verified_outcome": [], "probability": []})
    with pytest.raises(ValueError):
        live_quality_by_version(frame, window=0)


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="verified_outcome"):
        live_quality_by_version(pd.DataFrame({"model_version": [1], "probability": [0.5]}))


def test_prediction_distribution_per_version() -> None:
    frame = pd.DataFrame(
        {
            "model_version": ["1", "1", "1", "2"],
            "probability": [0.2, 0.6, 0.7, 0.3],
        }
    )
    result = prediction_distribution(frame)
    assert result["1"].count == 3
    assert result["1"].mean_probability == pytest.approx(0.5)
    assert result["1"].positive_share == pytest.approx(2 / 3)
    assert result["2"].positive_share == 0.0


def test_prediction_distribution_uses_stored_label() -> None:
    frame = pd.DataFrame({"model_version": ["1", "1"], "probability": [0.2, 0.3], "label": [1, 0]})
    assert prediction_distribution(frame)["1"].positive_share == pytest.approx(0.5)


def test_the_constant_of_the_same_shots_comes_with_every_result() -> None:
    # 3 of 4 made: predicting 0.75 for each scores -(3 ln .75 + ln .25) / 4
    quality = live_quality([1, 1, 1, 0], [0.6, 0.7, 0.4, 0.2])
    assert quality.make_rate == pytest.approx(0.75)
    assert quality.constant_log_loss == pytest.approx(-(3 * math.log(0.75) + math.log(0.25)) / 4)
    assert quality.constant_accuracy == pytest.approx(0.75)  # always "made"
    assert live_quality([0, 0, 1], [0.1, 0.1, 0.9]).constant_accuracy == pytest.approx(2 / 3)


def test_by_day_keeps_the_latest_days_per_version() -> None:
    frame = pd.DataFrame(
        {
            "model_version": ["1", "1", "2", "2", "2", "2"],
            "verified_outcome": [1, 0, 1, None, 0, 1],
            "probability": [0.8, 0.3, 0.4, 0.9, 0.1, 0.7],
            "day": ["2023-04-01", "2023-04-02", "2023-04-02", "2023-04-03", "2023-04-03", None],
        }
    )
    by_day = live_quality_by_day(frame, days=2)
    assert list(by_day) == [("1", "2023-04-02"), ("2", "2023-04-02"), ("2", "2023-04-03")]
    assert by_day[("2", "2023-04-03")].count == 1  # the unverified and the dateless left out
    assert by_day[("1", "2023-04-02")].accuracy == 1.0
    with pytest.raises(ValueError, match="positive"):
        live_quality_by_day(frame, days=0)
