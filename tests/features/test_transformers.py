"""The feature step inside the saved pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nba_mlops.features.serving import to_model_frame
from nba_mlops.features.transformers import (
    FEATURE_NAMES,
    OTHER_ACTION,
    FeatureStep,
    ShotFeatures,
)


def _records(n: int, player: int, action: str, x: int = 0, y: int = 50) -> list[dict[str, object]]:
    return [
        {
            "loc_x": x,
            "loc_y": y,
            "period": 2,
            "minutes_remaining": 3,
            "seconds_remaining": 10,
            "action_type": action,
            "player_id": player,
            "season_type": "Regular Season",
            "game_date": "2022-01-05",
        }
        for _ in range(n)
    ]


@pytest.fixture
def fitted() -> ShotFeatures:
    frame = to_model_frame(_records(300, 7, "Jump Shot") + _records(5, 8, "Tip Layup Shot"))
    return ShotFeatures(rare_action_min_count=50).fit(frame)


def test_rare_actions_are_grouped_as_other(fitted: ShotFeatures) -> None:
    out = fitted.transform(to_model_frame(_records(1, 8, "Tip Layup Shot")))
    assert out["action"].iloc[0] == OTHER_ACTION
    assert fitted.actions_ == ["Jump Shot"]


def test_output_has_the_declared_features(fitted: ShotFeatures) -> None:
    out = fitted.transform(to_model_frame(_records(3, 7, "Jump Shot")))
    assert tuple(out.columns) == FEATURE_NAMES
    assert out["distance_ft"].iloc[0] == pytest.approx(5.0)
    assert out["seconds_left_game"].iloc[0] == pytest.approx(2 * 720 + 190)


def test_context_passes_through_and_stays_missing_when_unknown(fitted: ShotFeatures) -> None:
    frame = to_model_frame(_records(2, 7, "Jump Shot"))
    frame.loc[frame.index[0], "player_prior_pct"] = 0.123
    frame.loc[frame.index[0], "player_prior_attempts"] = 99.0
    out = fitted.transform(frame)
    assert out["player_prior_pct"].iloc[0] == pytest.approx(0.123)
    assert out["player_prior_attempts_log"].iloc[0] == pytest.approx(np.log1p(99.0))
    # nothing is made up for a shot whose context nobody computed
    context = [c for c in FEATURE_NAMES if c.startswith(("player_", "game_", "league_"))]
    assert out.loc[out.index[1], context].isna().all()


def test_serving_frame_derives_shot_type_zones_and_season() -> None:
    frame = to_model_frame(
        [{"loc_x": 0, "loc_y": 260, "game_date": "2023-03-01"}, {"loc_x": -230, "loc_y": 10}]
    )
    assert list(frame["shot_type"]) == ["3PT Field Goal", "3PT Field Goal"]
    assert frame["shot_zone_basic"].iloc[0] == "Above the Break 3"
    assert frame["shot_zone_basic"].iloc[1] == "Left Corner 3"
    assert frame["season_start_year"].iloc[0] == 2022
    assert frame["action_type"].iloc[1] == "Jump Shot"
    assert np.isnan(frame["player_id"].iloc[0])


def test_serving_frame_keeps_given_fields() -> None:
    frame = to_model_frame(
        [
            {
                "loc_x": 0,
                "loc_y": 10,
                "shot_type": "2PT Field Goal",
                "is_home": True,
                "season_start_year": 2010,
                "action_type": "pullup jump shot",
            }
        ]
    )
    assert frame["action_type"].iloc[0] == "Pullup Jump Shot"
    assert frame["is_home"].iloc[0] == 1.0
    assert frame["season_start_year"].iloc[0] == 2010
    assert isinstance(frame, pd.DataFrame)


def test_the_matrix_for_compiled_forests_holds_the_same_features(fitted: ShotFeatures) -> None:
    records = _records(3, 7, "Jump Shot") + _records(2, 8, "Tip Layup Shot", x=230, y=20)
    records[1]["shot_zone_area"] = None  # a missing category becomes NaN
    frame = to_model_frame(records)
    frame.loc[frame.index[1], "shot_zone_area"] = None
    features = fitted.transform(frame)
    matrix = np.column_stack(fitted.feature_columns(frame)).astype("float64")
    assert matrix.shape == (5, len(FEATURE_NAMES))
    for position, name in enumerate(FEATURE_NAMES):
        column = features[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy().astype("float64")
            expected = np.where(codes < 0, np.nan, codes)
            assert list(column.cat.categories) == fitted.categories()[name]
        else:
            expected = column.to_numpy(dtype="float64")
        np.testing.assert_array_equal(matrix[:, position], expected, err_msg=name)
    assert np.isnan(matrix[1, FEATURE_NAMES.index("zone_area")])


def test_category_codes_are_the_same_whatever_holds_the_text() -> None:
    # Arrow's hash kernel codes a column of text; anything else goes to pandas: the codes
    # are the same, -1 for missing and unknown values.
    categories = ("Jump Shot", "Layup Shot", "Dunk Shot")
    values = ["Layup Shot", None, "Hook Shot", "Jump Shot", "Dunk Shot", "Layup Shot"]
    expected = [1, -1, -1, 0, 2, 1]
    for series in (
        pd.Series(values, dtype="str"),
        pd.Series(values, dtype="object"),
        pd.Series(values, dtype="category"),
    ):
        assert FeatureStep._codes(series, categories).tolist() == expected, series.dtype
    with_nan = pd.Series([*values[:-1], float("nan")], dtype="object")
    assert FeatureStep._codes(with_nan, categories).tolist() == [*expected[:-1], -1]
    mixed = pd.Series(["Jump Shot", 7, None, "Dunk Shot"], dtype="object")
    assert FeatureStep._codes(mixed, categories).tolist() == [0, -1, -1, 2]
    assert FeatureStep._codes(pd.Series([], dtype="str"), categories).tolist() == []
    assert FeatureStep._codes(pd.Series([None, None], dtype="object"), categories).tolist() == [
        -1,
        -1,
    ]
