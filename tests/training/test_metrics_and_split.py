"""Holdout metrics and the time split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nba_mlops.training.evaluate import classification_metrics
from nba_mlops.training.splits import time_split


def test_metrics_of_a_constant_prediction() -> None:
    y = np.array([1, 0, 0, 1])
    m = classification_metrics(y, np.full(4, 0.5))
    assert m["log_loss"] == pytest.approx(np.log(2))
    assert m["brier"] == pytest.approx(0.25)
    assert m["roc_auc"] == pytest.approx(0.5)


def _shots(seasons: dict[int, int]) -> pd.DataFrame:
    rows = [s for s, n in seasons.items() for _ in range(n)]
    games = [s * 10_000 + i // 100 for s, n in seasons.items() for i in range(n)]
    return pd.DataFrame({"season_start_year": rows, "game_id": games, "shot_made_flag": 0})


def test_big_enough_seasons_are_the_holdout_and_validation() -> None:
    split = time_split(_shots({2019: 50_000, 2020: 30_000, 2021: 20_000}))
    assert split.holdout_season == 2021
    assert set(split.holdout["season_start_year"]) == {2021}
    assert set(split.validation["season_start_year"]) == {2020}
    assert set(split.train["season_start_year"]) == {2019}
    assert split.holdout_label == "season 2021-22"


def test_a_small_latest_season_gives_way_to_the_latest_shots() -> None:
    # the original project's data: a few hundred shots a season, 76 in the last one
    split = time_split(_shots({2017: 4_000, 2018: 4_000, 2019: 3_920, 2020: 76}))
    assert split.holdout_season is None and split.validation_season is None
    assert 2_000 <= len(split.holdout) < 2_100  # the rule's size, up to a game boundary
    assert 2_000 <= len(split.validation) < 2_100
    assert split.train.index.max() < split.validation.index.min()
    assert split.validation.index.max() < split.holdout.index.min()
    # no game is cut in two
    assert not set(split.holdout["game_id"]) & set(split.validation["game_id"])
    assert split.holdout_label == "latest 2,096 shots, 2019-20 to 2020-21"


def test_the_slices_grow_with_the_store() -> None:
    # 5% of 200,000 shots is 10,000: a latest season of 8,000 is not enough
    split = time_split(_shots({2019: 100_000, 2020: 92_000, 2021: 8_000}))
    assert split.holdout_season is None
    assert len(split.holdout) == 10_000
    assert split.validation_season == 2020


def test_too_little_data_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="at least two seasons"):
        time_split(_shots({2021: 10_000}))
    with pytest.raises(ValueError, match="more than 4,000 shots"):
        time_split(_shots({2020: 2_000, 2021: 1_000}))
