"""The fixed, time-based split: the latest season is the holdout every model is judged on."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

MIN_VALIDATION_SHARE = 0.05


@dataclass(frozen=True)
class TimeSplit:
    """Training rows, validation rows (for tuning and calibration) and the holdout."""

    train: pd.DataFrame
    validation: pd.DataFrame
    holdout: pd.DataFrame
    holdout_season: int
    validation_season: int | None

    def describe(self) -> str:
        return (
            f"train {len(self.train):,} rows, validation {len(self.validation):,} rows "
            f"(season {self.validation_season or 'tail'}), holdout {len(self.holdout):,} rows "
            f"(season {self.holdout_season}-{(self.holdout_season + 1) % 100:02d})"
        )


def time_split(shots: pd.DataFrame, holdout_season: int | None = None) -> TimeSplit:
    """Split shots (already in time order) by season.

    The holdout is ``holdout_season`` (default: the latest season present); validation
    is the season before it when that holds enough rows, else the last fifth of the
    rows before the holdout, in time order.
    """
    seasons = shots["season_start_year"]
    latest = int(seasons.max()) if holdout_season is None else holdout_season
    before = shots[seasons < latest]
    holdout = shots[seasons == latest]
    if before.empty or holdout.empty:
        raise ValueError(
            "time split needs shots from at least two seasons; "
            f"found only season(s) {sorted(seasons.unique().tolist())}"
        )
    previous = int(before["season_start_year"].max())
    validation = before[before["season_start_year"] == previous]
    train = before[before["season_start_year"] < previous]
    if len(validation) < MIN_VALIDATION_SHARE * len(before) or train.empty:
        cut = int(len(before) * 0.8)
        train, validation = before.iloc[:cut], before.iloc[cut:]
        return TimeSplit(train, validation, holdout, latest, None)
    return TimeSplit(train, validation, holdout, latest, previous)
