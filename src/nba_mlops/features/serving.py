"""Build the model's input frame from raw shot records (API requests, batch files).

Fields a caller leaves out get documented defaults or are derived: shot type and zones
from the location, the season from the game date (today when absent). Context columns
(``features.columns.CONTEXT_COLUMNS``) are taken from the input when it carries them
(training and batch scoring add them from the shot history, the API from the online
table) and are missing otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nba_mlops import court
from nba_mlops.data.repair import normalise_action_type
from nba_mlops.features.columns import CONTEXT_COLUMNS, MODEL_INPUT_COLUMNS

# Fields of a request that only serve to look its context up (never model inputs).
ID_COLUMNS = ("game_id", "game_event_id", "team_id", "home_team", "away_team")

DEFAULTS: dict[str, Any] = {
    "period": 1,
    "minutes_remaining": 6,
    "seconds_remaining": 0,
    "action_type": "Jump Shot",
    "season_type": "Regular Season",
}


def season_start_year(day: dt.date) -> int:
    """NBA seasons start in October: games before August belong to last year's season."""
    return day.year if day.month >= 8 else day.year - 1


def to_model_frame(
    records: Sequence[Mapping[str, Any]] | pd.DataFrame, today: dt.date | None = None
) -> pd.DataFrame:
    """Raw canonical shot fields in, a frame with exactly ``MODEL_INPUT_COLUMNS`` out."""
    if isinstance(records, pd.DataFrame):
        # copy only what the model reads: training frames run to millions of rows
        wanted = [c for c in records.columns if c in MODEL_INPUT_COLUMNS or c == "game_date"]
        frame = records.loc[:, wanted].copy()
    else:
        frame = pd.DataFrame.from_records(list(records))
    n = len(frame)
    for column, default in DEFAULTS.items():
        if column not in frame:
            frame[column] = default
        else:
            frame[column] = frame[column].fillna(default)
    # Feeds disagree on capitals ("Pullup Jump shot"): use the store's spelling.
    frame["action_type"], _ = normalise_action_type(frame["action_type"].astype("object"))
    x = pd.to_numeric(frame["loc_x"], errors="coerce").to_numpy(dtype="float64")
    y = pd.to_numeric(frame["loc_y"], errors="coerce").to_numpy(dtype="float64")

    derive: dict[str, Callable[[], np.ndarray]] = {
        "shot_type": lambda: np.where(
            court.shot_value(x, y) == 3, "3PT Field Goal", "2PT Field Goal"
        ),
        "shot_zone_basic": lambda: court.zone_basic(x, y),
        "shot_zone_area": lambda: court.zone_area(x, y),
        "shot_zone_range": lambda: court.zone_range(x, y),
    }
    for column, values in derive.items():
        given = frame[column] if column in frame else pd.Series([None] * n, index=frame.index)
        missing = given.isna()
        if missing.any():  # files usually carry them all: derive only when needed
            given = given.astype("object").where(~missing, pd.Series(values(), index=frame.index))
        frame[column] = given

    if "season_start_year" not in frame or frame["season_start_year"].isna().any():
        day = today or dt.date.today()
        dates = (
            pd.to_datetime(frame["game_date"], errors="coerce")
            if "game_date" in frame
            else pd.Series(pd.NaT, index=frame.index)
        )
        from_dates = np.where(
            dates.notna(),
            np.where(dates.dt.month >= 8, dates.dt.year, dates.dt.year - 1),
            season_start_year(day),
        )
        current = (
            frame["season_start_year"]
            if "season_start_year" in frame
            else pd.Series(np.nan, index=frame.index)
        )
        frame["season_start_year"] = current.fillna(pd.Series(from_dates, index=frame.index))

    if "is_home" in frame:
        # bools, 0/1 and nullable integers all become 1.0 / 0.0 / NaN, vectorised
        frame["is_home"] = pd.to_numeric(frame["is_home"].astype("float64"), errors="coerce")
    for column in ("player_id", "is_home", *CONTEXT_COLUMNS):
        if column not in frame:
            frame[column] = np.nan
    out = frame.loc[:, list(MODEL_INPUT_COLUMNS)].copy()
    out["loc_x"] = x
    out["loc_y"] = y
    for column in ("period", "minutes_remaining", "seconds_remaining", "season_start_year"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    for column in ("player_id", "is_home", *CONTEXT_COLUMNS):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    for column in (
        "action_type",
        "shot_type",
        "shot_zone_basic",
        "shot_zone_area",
        "shot_zone_range",
        "season_type",
    ):
        out[column] = out[column].astype("object")
    return out


def request_ids(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The look-up fields of request records (``ID_COLUMNS``; None where absent)."""
    return pd.DataFrame({c: [r.get(c) for r in records] for c in ID_COLUMNS}, dtype="object")
