"""Population stability index between reference and recent shots."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from nba_mlops.monitoring.drift import (
    FEATURES,
    compute_drift,
    drift_features,
    drift_status,
    population_stability_index,
)

ShotFactory = Callable[..., pd.DataFrame]


@pytest.fixture(scope="module")
def reference(make_shots: ShotFactory) -> pd.DataFrame:
    return make_shots(5000, seed=1)


def test_psi_of_identical_shares_is_zero() -> None:
    assert population_stability_index([0.5, 0.5], [0.5, 0.5]) == 0.0


def test_psi_known_value() -> None:
    expected = (0.7 - 0.5) * math.log(0.7 / 0.5) + (0.3 - 0.5) * math.log(0.3 / 0.5)
    assert population_stability_index([0.5, 0.5], [0.7, 0.3]) == pytest.approx(expected)


def test_psi_empty_bin_uses_epsilon() -> None:
    psi = population_stability_index([0.5, 0.5, 0.0], [0.5, 0.5, 0.0])
    assert psi == 0.0
    assert math.isfinite(population_stability_index([1.0, 0.0], [0.0, 1.0]))


@pytest.mark.parametrize(
    ("psi", "status"),
    [(0.0, "ok"), (0.099, "ok"), (0.1, "moderate"), (0.25, "moderate"), (0.26, "drift")],
)
def test_status_thresholds(psi: float, status: str) -> None:
    assert drift_status(psi) == status
    assert drift_status(math.nan) == "insufficient_sample"


def test_sample_of_the_reference_shows_no_drift(reference: pd.DataFrame) -> None:
    recent = reference.sample(1000, random_state=3)
    report = compute_drift(reference, recent)
    assert report.sufficient
    assert set(report.psi_by_feature()) == set(FEATURES)
    assert report.max_psi < 0.05
    assert report.status == "ok"
    assert all(f.status == "ok" for f in report.features)


def test_fresh_draw_from_the_same_population_shows_no_drift(
    reference: pd.DataFrame, make_shots: ShotFactory
) -> None:
    report = compute_drift(reference, make_shots(800, seed=2))
    assert report.max_psi < 0.1, report.psi_by_feature()


def test_shots_moved_out_and_new_action_mix_drift(
    reference: pd.DataFrame, make_shots: ShotFactory
) -> None:
    recent = make_shots(1000, seed=4)
    # every shot 8 ft further from the basket, along the same direction
    distance = np.hypot(recent["loc_x"], recent["loc_y"]).clip(lower=1.0)
    scale = (distance + 80.0) / distance
    recent["loc_x"] = np.round(recent["loc_x"] * scale).astype(int)
    recent["loc_y"] = np.round(recent["loc_y"] * scale).astype(int)
    recent["shot_distance"] = recent["shot_distance"] + 8
    recent["action_type"] = np.where(
        np.arange(len(recent)) % 2 == 0, "Dunk Shot", recent["action_type"]
    )
    report = compute_drift(reference, recent)
    psi = report.psi_by_feature()
    assert psi["shot_distance"] > 0.25
    assert psi["loc_y"] > 0.25
    assert psi["action_type"] > 0.25
    by_name = {f.feature: f for f in report.features}
    assert by_name["shot_distance"].status == "drift"
    assert by_name["action_type"].status == "drift"
    # what was not touched stays quiet
    assert psi["period"] < 0.1
    assert psi["seconds_left_in_period"] < 0.1
    assert report.status == "drift"
    assert report.max_psi == max(psi.values())


def test_below_minimum_sample_computes_nothing(
    reference: pd.DataFrame, make_shots: ShotFactory
) -> None:
    recent = make_shots(199, seed=5)
    recent["loc_y"] = recent["loc_y"] + 300  # would be huge drift with enough rows
    report = compute_drift(reference, recent)
    assert not report.sufficient
    assert report.status == "insufficient_sample"
    assert math.isnan(report.max_psi)
    assert all(math.isnan(v) for v in report.psi_by_feature().values())
    assert all(f.status == "insufficient_sample" for f in report.features)
    assert report.recent_size == 199 and report.min_sample == 200
    # the same rows pass once the threshold allows them
    assert compute_drift(reference, recent, min_sample=150).status == "drift"


def test_exactly_minimum_sample_is_enough(reference: pd.DataFrame) -> None:
    report = compute_drift(reference, reference.head(200))
    assert report.sufficient


def test_unseen_categories_go_to_other(reference: pd.DataFrame) -> None:
    recent = reference.sample(600, random_state=6).copy()
    recent["action_type"] = "Alley Oop Reverse Dunk"  # never in the reference
    report = compute_drift(reference, recent)
    action = next(f for f in report.features if f.feature == "action_type")
    assert "Alley Oop Reverse Dunk" not in action.bins
    assert action.bins[-1] == "other"
    assert action.recent_share[-1] == pytest.approx(1.0)
    assert action.reference_share[-1] == 0.0
    assert action.status == "drift"


def test_rare_categories_share_the_other_bin(reference: pd.DataFrame) -> None:
    report = compute_drift(reference, reference.sample(500, random_state=7))
    period = next(f for f in report.features if f.feature == "period")
    # overtime (2% of shots in the fixture, at the floor) keeps or loses its own bin,
    # but the regular periods always have theirs
    assert {"1", "2", "3", "4"} <= set(period.bins)
    assert sum(period.reference_share) == pytest.approx(1.0)


def test_player_mix_notices_a_different_roster(
    reference: pd.DataFrame, make_shots: ShotFactory
) -> None:
    recent = make_shots(800, seed=8)
    recent["player_id"] = recent["player_id"] + 100_000  # players never seen
    psi = compute_drift(reference, recent).psi_by_feature()
    assert psi["player_mix"] > 0.25
    assert psi["loc_x"] < 0.1


def test_shot_distance_is_computed_from_location() -> None:
    shots = pd.DataFrame(
        {"loc_x": [30, None], "loc_y": [40, None], "shot_distance": [99, 12]},
    )
    features = drift_features(shots)
    assert features["shot_distance"].tolist() == pytest.approx([5.0, 12.0])


def test_shot_distance_without_the_column() -> None:
    features = drift_features(pd.DataFrame({"loc_x": [-60], "loc_y": [80]}))
    assert features["shot_distance"].tolist() == pytest.approx([10.0])


def test_seconds_left_in_period() -> None:
    shots = pd.DataFrame({"minutes_remaining": [11, 0], "seconds_remaining": [59, 3]})
    assert drift_features(shots)["seconds_left_in_period"].tolist() == [719.0, 3.0]


def test_float_and_int_categories_agree() -> None:
    features = drift_features(pd.DataFrame({"period": [1.0, 2.0, None], "player_id": [7, 8, 9]}))
    assert features["period"].tolist() == ["1", "2", "missing"]


def test_missing_columns_are_skipped_or_compared_as_the_model_scores_them(
    reference: pd.DataFrame,
) -> None:
    recent = reference.sample(400, random_state=9).drop(columns=["player_id", "action_type"])
    report = compute_drift(reference, recent)
    assert set(report.skipped) == {"player_mix"}
    assert "player_mix" not in report.psi_by_feature()
    # a request without an action type is scored as a jump shot: that is what is compared
    action = next(f for f in report.features if f.feature == "action_type")
    assert action.recent_share[action.bins.index("Jump Shot")] == pytest.approx(1.0)
    assert action.status == "drift"


def test_a_feed_that_spells_action_types_differently_is_no_drift(
    reference: pd.DataFrame,
) -> None:
    """The feed writes "Pullup Jump shot" where the store has "Pullup Jump Shot" (and so
    on): the model scores the store's spelling, and so does the drift check."""
    recent = reference.sample(2000, random_state=13)
    spellings = [str.lower, str.upper, lambda a: a[:1] + a[1:].lower()]
    feed = recent.assign(
        action_type=[spellings[i % 3](action) for i, action in enumerate(recent["action_type"])]
    )
    assert set(feed["action_type"]).isdisjoint(reference["action_type"])
    as_sent = compute_drift(reference, feed)
    as_stored = compute_drift(reference, recent)
    assert as_sent.psi_by_feature()["action_type"] == pytest.approx(
        as_stored.psi_by_feature()["action_type"]
    )
    assert as_sent.psi_by_feature()["action_type"] < 0.1
    assert drift_features(feed)["action_type"].tolist() == (
        drift_features(recent)["action_type"].tolist()
    )


def test_missing_values_get_their_own_bin(reference: pd.DataFrame) -> None:
    recent = reference.sample(400, random_state=10).copy()
    recent["loc_x"] = recent["loc_x"].astype("float64")
    recent.loc[recent.index[:200], "loc_x"] = np.nan
    loc_x = next(f for f in compute_drift(reference, recent).features if f.feature == "loc_x")
    assert loc_x.bins[-1] == "missing"
    assert loc_x.recent_share[-1] == pytest.approx(0.5)
    assert loc_x.status == "drift"


def test_deterministic(reference: pd.DataFrame, make_shots: ShotFactory) -> None:
    recent = make_shots(700, seed=11)
    assert compute_drift(reference, recent) == compute_drift(reference, recent)


def test_numeric_bins_are_open_ended(reference: pd.DataFrame) -> None:
    report = compute_drift(reference, reference.sample(300, random_state=12))
    distance = next(f for f in report.features if f.feature == "shot_distance")
    assert distance.bins[0].startswith("< ") and distance.bins[-2].startswith(">= ")
    assert len(distance.bins) == 10 + 1  # ten quantile bins and the missing bin
