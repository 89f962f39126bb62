"""A request's shots become the model's inputs without pandas, with the very values the
DataFrame path (``canonical_shots`` + ``model_frame``) gives, whatever fields a record
carries, leaves out, or gets wrong."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nba_mlops.features.columns import MODEL_INPUT_COLUMNS
from nba_mlops.features.serving import (
    canonical_shots,
    model_columns,
    model_frame,
    shot_columns,
    to_model_frame,
)
from nba_mlops.features.transformers import ShotFeatures

TODAY = dt.date(2024, 1, 15)

# What a field may hold: usual values, missing ones (None, NaN, absent), wrong types,
# unknown categories and odd spellings.
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "loc_x": st.one_of(st.integers(-250, 250), st.floats(-250, 250), st.sampled_from(["12"])),
    "loc_y": st.one_of(st.integers(-60, 900), st.floats(-60, 900)),
    "period": st.sampled_from([1, 2, 4, 5, 8, None, np.nan, "3", True]),
    "minutes_remaining": st.sampled_from([0, 5, 11, None, 7.0]),
    "seconds_remaining": st.sampled_from([0, 30, 59, None, np.nan]),
    "action_type": st.sampled_from(
        ["Jump Shot", "pullup JUMP shot", "Layup Shot", "No Such Shot", "", None, np.nan]
    ),
    "shot_type": st.sampled_from(["2PT Field Goal", "3PT Field Goal", "Bogus", None]),
    "shot_zone_basic": st.sampled_from(["Restricted Area", "Mid-Range", "Nowhere", None]),
    "shot_zone_area": st.sampled_from(["Center(C)", "Left Side(L)", None, np.nan]),
    "shot_zone_range": st.sampled_from(["24+ ft.", "8-16 ft.", None]),
    "player_id": st.sampled_from([201939, 2544, 0, None, np.nan]),
    "is_home": st.sampled_from([True, False, None, 1, 0]),
    "season_type": st.sampled_from(["Regular Season", "Playoffs", None]),
    "season_start_year": st.sampled_from([2010, 2022.0, None, np.nan]),
    "game_date": st.sampled_from(
        ["2023-03-01", "2022-10-19", "1999-11-02", "2023-02-30", dt.date(2021, 8, 1), None]
    ),
    "game_id": st.sampled_from([22200061, None]),
    "team_id": st.sampled_from([1610612744, None]),
    "home_team": st.sampled_from(["GSW", "xyz", None]),
    "player_prior_pct": st.sampled_from([0.45, None, np.nan]),
    "player_prior_attempts": st.sampled_from([120, 0.0, None]),
}

records_strategy = st.lists(
    st.fixed_dictionaries(
        {"loc_x": FIELDS["loc_x"], "loc_y": FIELDS["loc_y"]},
        optional={name: value for name, value in FIELDS.items() if name not in ("loc_x", "loc_y")},
    ),
    min_size=1,
    max_size=6,
)


def _assert_same(ours: dict[str, np.ndarray], theirs: pd.DataFrame) -> None:
    assert list(ours) == list(MODEL_INPUT_COLUMNS)
    assert list(theirs.columns) == list(MODEL_INPUT_COLUMNS)
    for column in MODEL_INPUT_COLUMNS:
        expected = theirs[column].to_numpy()
        got = ours[column]
        assert got.dtype == expected.dtype, column
        if got.dtype == object:
            assert got.tolist() == expected.tolist(), column
        else:
            np.testing.assert_array_equal(got, expected, err_msg=column)


# Both paths hand pandas an impossible date alike, and pandas warns alike.
@pytest.mark.filterwarnings("ignore:Could not infer format")
@settings(max_examples=200, derandomize=True, deadline=None)
@given(records=records_strategy)
def test_request_columns_are_the_dataframe_paths_values(records: list[dict[str, Any]]) -> None:
    ours = model_columns(shot_columns(records, TODAY))
    _assert_same(ours, model_frame(canonical_shots(records, TODAY)))
    # to_model_frame of records goes through the arrays, and stays a frame
    frame = to_model_frame(records, TODAY)
    assert isinstance(frame, pd.DataFrame)
    _assert_same(ours, frame)


@pytest.mark.filterwarnings("ignore:Could not infer format")
@settings(max_examples=100, derandomize=True, deadline=None)
@given(records=records_strategy)
def test_the_feature_step_reads_arrays_as_it_reads_frames(records: list[dict[str, Any]]) -> None:
    training = to_model_frame(
        [{"loc_x": 0, "loc_y": 10, "action_type": "Jump Shot"}] * 3
        + [{"loc_x": 0, "loc_y": 10, "action_type": "Layup Shot"}] * 3
    )
    features = ShotFeatures(rare_action_min_count=2).fit(training)
    columns = model_columns(shot_columns(records, TODAY))
    frame = model_frame(canonical_shots(records, TODAY))
    np.testing.assert_array_equal(features.feature_matrix(columns), features.feature_matrix(frame))
    expected = np.column_stack(features.feature_columns(frame)).astype("float64")
    np.testing.assert_array_equal(features.feature_matrix(frame), expected)


def test_a_season_comes_from_the_date_or_today() -> None:
    columns = shot_columns(
        [
            {"loc_x": 0, "loc_y": 10, "game_date": "2023-03-01"},
            {"loc_x": 0, "loc_y": 10, "game_date": "2022-10-19"},
            {"loc_x": 0, "loc_y": 10},
            {"loc_x": 0, "loc_y": 10, "season_start_year": 2010, "game_date": "2023-03-01"},
        ],
        TODAY,
    )
    assert columns["season_start_year"].tolist() == [2022.0, 2022.0, 2023.0, 2010.0]


def test_zones_looked_up_on_the_grid_are_the_courts_own() -> None:
    from nba_mlops import court

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.integers(-250, 251, 20_000), [-250, 250, 0, 0]]).astype("float64")
    y = np.concatenate([rng.integers(-60, 901, 20_000), [-60, 900, 0, 87]]).astype("float64")
    columns = shot_columns([{"loc_x": a, "loc_y": b} for a, b in zip(x, y, strict=True)])
    assert columns["shot_zone_basic"].tolist() == court.zone_basic(x, y).tolist()
    assert columns["shot_zone_area"].tolist() == court.zone_area(x, y).tolist()
    assert columns["shot_zone_range"].tolist() == court.zone_range(x, y).tolist()
    assert columns["shot_type"].tolist() == court.shot_type(x, y).tolist()
