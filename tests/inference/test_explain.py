"""Per-feature contributions of a LightGBM champion, grouped as a person reads them."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from nba_mlops.config import bundled_sample_path
from nba_mlops.data.schema import KAGGLE_TO_CANONICAL
from nba_mlops.explain import GROUPS, explain, family_of, group_of
from nba_mlops.features.serving import to_model_frame
from nba_mlops.features.transformers import FEATURE_NAMES, ShotFeatures
from nba_mlops.training.models import CategoryLabels


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, np.ndarray]:
    raw = pd.read_csv(bundled_sample_path(), nrows=6000).rename(columns=KAGGLE_TO_CANONICAL)
    raw = raw[raw["shot_made_flag"].notna()].reset_index(drop=True)
    frame = to_model_frame(raw.drop(columns=["game_date"]))
    return frame, raw["shot_made_flag"].to_numpy("int64")


def _calibrated(estimator: object, frame: pd.DataFrame, y: np.ndarray) -> CalibratedClassifierCV:
    features = ShotFeatures().fit(frame)
    x = features.transform(frame)
    pipeline = Pipeline([("features", features), ("model", estimator)])
    pipeline.steps[-1][1].fit(x, y)  # type: ignore[attr-defined]
    return CalibratedClassifierCV(FrozenEstimator(pipeline), method="sigmoid").fit(frame, y)


def test_lightgbm_contributions_add_up_to_its_raw_score(
    sample: tuple[pd.DataFrame, np.ndarray],
) -> None:
    frame, y = sample
    forest = lgb.LGBMClassifier(n_estimators=30, num_leaves=15, verbose=-1, random_state=1)
    model = _calibrated(forest, frame, y)
    assert family_of(model) == "lightgbm"
    row = frame.iloc[[7]]
    found = explain(model, row)
    assert found.available and found.family == "lightgbm"
    assert [g.group for g in found.groups] == list(GROUPS)
    raw = forest.predict(ShotFeatures().fit(frame).transform(row), raw_score=True)[0]
    assert found.raw_score == pytest.approx(raw, abs=1e-3)
    total = found.base + sum(g.contribution for g in found.groups)  # type: ignore[operator]
    assert total == pytest.approx(found.raw_score, abs=1e-3)
    named = {f.feature for g in found.groups for f in g.features}
    assert named == set(FEATURE_NAMES)
    location = next(g for g in found.groups if g.group == "location")
    assert {"distance_ft", "zone_basic"} <= {f.feature for f in location.features}
    # the largest effect first within a group
    sizes = [abs(f.contribution) for f in location.features]
    assert sizes == sorted(sizes, reverse=True)


def test_other_families_say_it_is_not_available(
    sample: tuple[pd.DataFrame, np.ndarray],
) -> None:
    frame, _ = sample
    model = Pipeline(
        [
            ("features", ShotFeatures()),
            ("model", Pipeline([("labels", CategoryLabels()), ("clf", RandomForestClassifier())])),
        ]
    )
    found = explain(model, frame.iloc[[0]])
    assert not found.available and found.family == "random_forest"
    assert "Not available for the random_forest family" in (found.reason or "")
    assert found.groups == []


def test_groups() -> None:
    assert group_of("player_zone_prior_pct") == "shooter"
    assert group_of("seconds_left_game") == "clock"
    assert group_of("game_prior_makes") == "game context"
    assert group_of("action") == "shot type"
    assert group_of("league_expected") == "location"
