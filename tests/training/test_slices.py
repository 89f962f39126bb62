"""Quality by slice and the reliability diagram's bins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nba_mlops.training.evaluate import classification_metrics
from nba_mlops.training.slices import markdown, reliability, slice_quality


def _holdout(n: int = 4000, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "shot_zone_basic": rng.choice(["Restricted Area", "Mid-Range", "Above the Break 3"], n),
            "shot_type": rng.choice(["2PT Field Goal", "3PT Field Goal"], n),
            "period": rng.integers(1, 6, n).astype("float64"),
            "season_type": rng.choice(["Regular Season", "Playoffs"], n, p=[0.9, 0.1]),
            "season_start_year": np.full(n, 2022.0),
            "player_prior_attempts": rng.choice([np.nan, 10.0, 2000.0, 9000.0], n),
        }
    )
    p = rng.uniform(0.05, 0.95, n)
    y = (rng.uniform(size=n) < p).astype("int64")
    return frame, y, p


def test_every_slice_partitions_the_holdout_and_agrees_with_the_metrics() -> None:
    frame, y, p = _holdout()
    quality = slice_quality(frame, y, p)
    overall = classification_metrics(y, p)
    assert quality["overall"]["shots"] == len(y)
    assert quality["overall"]["log_loss"] == pytest.approx(overall["log_loss"], abs=1e-4)
    assert quality["overall"]["ece"] == pytest.approx(overall["ece"], abs=1e-4)
    assert quality["overall"]["accuracy"] == pytest.approx(overall["accuracy"], abs=1e-4)
    assert set(quality["slices"]) == {
        "zone",
        "shot_type",
        "period",
        "playoffs",
        "season",
        "shooter_volume",
    }
    for name, lines in quality["slices"].items():
        assert sum(line["shots"] for line in lines) == len(y), name
    periods = {line["value"] for line in quality["slices"]["period"]}
    assert periods == {"Q1", "Q2", "Q3", "Q4", "overtime"}
    volumes = {line["value"] for line in quality["slices"]["shooter_volume"]}
    assert volumes == {
        "unknown shooter",
        "rookie (< 500 career shots)",
        "regular (500-5,000)",
        "star (> 5,000)",
    }
    assert [line["value"] for line in quality["slices"]["season"]] == ["2022-23"]
    mid = next(line for line in quality["slices"]["zone"] if line["value"] == "Mid-Range")
    mask = frame["shot_zone_basic"].to_numpy() == "Mid-Range"
    assert mid["log_loss"] == pytest.approx(
        classification_metrics(y[mask], p[mask])["log_loss"], abs=1e-4
    )
    assert "| zone | Mid-Range |" in markdown(quality)


def test_reliability_bins_hold_every_shot_and_their_means() -> None:
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0.05, 0.15, 0.18, 0.99, 1.0])
    bins = reliability(y, p)
    assert len(bins) == 10 and sum(b["shots"] for b in bins) == 5
    assert bins[0] == {
        "bin_low": 0.0,
        "bin_high": 0.1,
        "shots": 1,
        "mean_predicted": 0.05,
        "make_rate": 0.0,
    }
    assert bins[1]["shots"] == 2 and bins[1]["make_rate"] == 1.0
    assert bins[1]["mean_predicted"] == pytest.approx(0.165)
    assert bins[9]["shots"] == 2 and bins[9]["make_rate"] == 0.5
    assert bins[5]["shots"] == 0 and bins[5]["mean_predicted"] is None


def test_small_slices_are_left_out() -> None:
    frame, y, p = _holdout(n=200)
    frame.loc[:5, "shot_zone_basic"] = "Backcourt"
    zones = {line["value"] for line in slice_quality(frame, y, p)["slices"]["zone"]}
    assert "Backcourt" not in zones
