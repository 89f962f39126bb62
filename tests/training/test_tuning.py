"""The hyper-parameter search and the training profiles: the full profile searches and
reports every trial as it goes; the quick one fits each family once on its defaults."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from nba_mlops.config import TrainingSettings
from nba_mlops.features.serving import to_model_frame
from nba_mlops.features.transformers import ShotFeatures
from nba_mlops.training.models import FAMILIES
from nba_mlops.training.tune import tune


def _shots(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature frames of synthetic shots whose make rate falls with the distance."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-250, 250, rows)
    y = rng.integers(-40, 300, rows)
    records = [
        {
            "loc_x": int(a),
            "loc_y": int(b),
            "action_type": str(rng.choice(["Jump Shot", "Layup Shot", "Dunk Shot"])),
            "period": int(rng.integers(1, 5)),
            "minutes_remaining": int(rng.integers(0, 12)),
            "seconds_remaining": int(rng.integers(0, 60)),
        }
        for a, b in zip(x, y, strict=True)
    ]
    frame = to_model_frame(records)
    distance = np.hypot(x, y) / 10.0
    made = (rng.random(rows) < 0.65 - distance / 60).astype("int64")
    features = ShotFeatures(rare_action_min_count=10).fit(frame).transform(frame)
    for column in features.columns:  # context the records do not carry: some noise
        if features[column].isna().all():
            features[column] = rng.normal(size=rows).astype("float32")
    return features, made


def test_a_search_reports_every_trial_and_keeps_the_best() -> None:
    x_train, y_train = _shots(3000, 0)
    x_val, y_val = _shots(1000, 1)
    seen: list[tuple[int, int, float, float]] = []
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("nba_mlops")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        result = tune(
            FAMILIES["random_forest"],
            x_train,
            y_train,
            x_val,
            y_val,
            trials=3,
            rows=2000,
            seed=7,
            on_trial=lambda *told: seen.append(told),
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert [(number, total) for number, total, _, _ in seen] == [(1, 3), (2, 3), (3, 3)]
    losses = [loss for _, _, loss, _ in seen]
    assert [best for *_, best in seen] == list(np.minimum.accumulate(losses))
    assert result.trials == 3 and result.validation_log_loss == min(losses)
    assert 0.3 < result.validation_log_loss < 0.7
    trial_lines = [r.getMessage() for r in records if ": trial " in r.getMessage()]
    assert [line.split(",")[0] for line in trial_lines] == [
        "random_forest: trial 1/3",
        "random_forest: trial 2/3",
        "random_forest: trial 3/3",
    ]


def test_one_trial_is_the_defaults_without_a_fit() -> None:
    empty = pd.DataFrame()
    told: list[object] = []
    result = tune(
        FAMILIES["lightgbm"],
        empty,
        np.array([]),
        empty,
        np.array([]),
        trials=1,
        rows=1000,
        seed=0,
        on_trial=told.append,  # type: ignore[arg-type]
    )
    assert result.params == FAMILIES["lightgbm"].defaults and result.trials == 0
    assert told == []


def test_the_quick_profile_searches_nothing_and_the_full_one_tunes_lightgbm_most() -> None:
    quick = TrainingSettings(profile="quick", tuning_trials=8)
    assert {family.trials(quick) for family in FAMILIES.values()} == {1}
    full = TrainingSettings(tuning_trials=8)
    assert full.profile == "full"
    assert FAMILIES["lightgbm"].trials(full) == 8
    assert FAMILIES["logistic"].trials(full) == FAMILIES["random_forest"].trials(full) == 2
