"""The fixed, time-based split every model is judged on.

The rule (the same for the holdout and for validation):

* a slice must hold at least ``MIN_SHARE`` of the store and at least ``MIN_SHOTS`` shots;
* the holdout is the latest season when that season is big enough, otherwise the
  latest shots in time order, as many as the rule asks for, cut at a game boundary;
* validation is chosen the same way from the shots before the holdout;
* everything before validation trains.

On the full data (4.1M shots, seasons of ~230,000) the latest season is 5.6% of the
store: the holdout is that season and validation the one before. On the original
project's 11,996 shots (a few hundred a season) the holdout is the latest 2,000 shots
and validation the 2,000 before them, instead of a last season of 76 shots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_SHARE = 0.05
MIN_SHOTS = 2_000


def season_label(start_year: int) -> str:
    """The NBA's name of a season: ``2021`` -> ``2021-22``."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


@dataclass(frozen=True)
class TimeSplit:
    """Training rows, validation rows (for tuning and calibration) and the holdout."""

    train: pd.DataFrame
    validation: pd.DataFrame
    holdout: pd.DataFrame
    holdout_season: int | None  # None when the holdout is a slice of shots
    validation_season: int | None

    @property
    def holdout_label(self) -> str:
        return _label(self.holdout, self.holdout_season)

    @property
    def validation_label(self) -> str:
        return _label(self.validation, self.validation_season)

    def describe(self) -> str:
        return (
            f"train {len(self.train):,} rows, validation {len(self.validation):,} rows "
            f"({self.validation_label}), holdout {len(self.holdout):,} rows "
            f"({self.holdout_label})"
        )


def _label(rows: pd.DataFrame, season: int | None) -> str:
    if season is not None:
        return f"season {season_label(season)}"
    seasons = rows["season_start_year"]
    first, last = int(seasons.min()), int(seasons.max())
    span = season_label(first)
    if last != first:
        span += f" to {season_label(last)}"
    return f"latest {len(rows):,} shots, {span}"


def slice_size(total: int) -> int:
    """Shots the holdout and validation each need at least, for a store of ``total``."""
    return max(math.ceil(MIN_SHARE * total), MIN_SHOTS)


def _latest(shots: pd.DataFrame, size: int) -> tuple[pd.DataFrame, pd.DataFrame, int | None]:
    """(before, latest slice, its season or None) of shots in time order."""
    seasons = shots["season_start_year"].to_numpy()
    latest = int(seasons.max())
    in_latest = seasons == latest
    if in_latest.sum() >= size and (~in_latest).any():
        return shots[~in_latest], shots[in_latest], latest
    cut = len(shots) - size
    if "game_id" in shots:  # keep each game on one side of the cut
        games = shots["game_id"].to_numpy()
        while cut > 0 and games[cut - 1] == games[cut]:
            cut -= 1
    return shots.iloc[:cut], shots.iloc[cut:], None


def time_split(shots: pd.DataFrame) -> TimeSplit:
    """Split shots (already in time order) by the rule in the module's docstring."""
    size = slice_size(len(shots))
    if len(shots) <= 2 * size or shots["season_start_year"].nunique() < 2:
        raise ValueError(
            f"time split needs shots from at least two seasons and more than {2 * size:,} "
            f"shots (a holdout and a validation slice of {size:,} each, and training rows); "
            f"found {len(shots):,} shots in season(s) "
            f"{', '.join(season_label(s) for s in np.unique(shots['season_start_year']))}"
        )
    before, holdout, holdout_season = _latest(shots, size)
    train, validation, validation_season = _latest(before, size)
    if train.empty:
        raise ValueError("time split left no training rows: ingest more shots")
    return TimeSplit(train, validation, holdout, holdout_season, validation_season)
