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
from typing import Any, Final

import numpy as np
import pandas as pd

from nba_mlops import court
from nba_mlops.data.repair import normalise_action_type
from nba_mlops.features.columns import CONTEXT_COLUMNS, MODEL_INPUT_COLUMNS

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
    records: Sequence[Mapping[str, Any]] | pd.DataFrame,
    today: dt.date | None = None,
    context: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Raw canonical shot fields in, a frame with exactly ``MODEL_INPUT_COLUMNS`` out.

    Context columns come from ``context`` when given, else from the input's own columns
    (missing when it has none)."""
    return model_frame(canonical_shots(records, today), context)


def canonical_shots(
    records: Sequence[Mapping[str, Any]] | pd.DataFrame, today: dt.date | None = None
) -> pd.DataFrame:
    """The raw fields with their defaults and derived values filled in: shot type and
    zones from the location, the season from the date, the store's action spelling."""
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
    frame["loc_x"], frame["loc_y"] = x, y

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
    return frame


_NUMERIC: Final = frozenset(
    {"period", "minutes_remaining", "seconds_remaining", "season_start_year", "player_id"}
)


def model_frame(
    frame: pd.DataFrame, context: Mapping[str, np.ndarray] | None = None
) -> pd.DataFrame:
    """The model's input frame (``MODEL_INPUT_COLUMNS``) from ``canonical_shots``' frame,
    built in one go."""
    n = len(frame)
    columns: dict[str, Any] = {}
    for column in MODEL_INPUT_COLUMNS:
        if context is not None and column in context:
            columns[column] = np.asarray(context[column], dtype="float64")
        elif column not in frame:
            columns[column] = np.full(n, np.nan)
        elif column in ("loc_x", "loc_y"):
            columns[column] = frame[column].to_numpy("float64")
        elif column == "is_home":
            # bools, 0/1 and nullable integers all become 1.0 / 0.0 / NaN
            columns[column] = pd.to_numeric(
                frame[column].astype("float64"), errors="coerce"
            ).to_numpy("float64", na_value=np.nan)
        elif column in _NUMERIC or column in CONTEXT_COLUMNS:
            columns[column] = pd.to_numeric(frame[column], errors="coerce").to_numpy(
                "float64", na_value=np.nan
            )
        else:
            columns[column] = frame[column].astype("object").to_numpy()
    return pd.DataFrame(columns, index=frame.index)
