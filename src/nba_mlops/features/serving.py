"""Build the model's input frame from raw shot records (API requests, batch files).

Fields a caller leaves out get documented defaults or are derived: shot type and zones
from the location, the season from the game date (today when absent). Context columns
(``features.columns.CONTEXT_COLUMNS``) are taken from the input when it carries them
(training and batch scoring add them from the shot history, the API from the online
table) and are missing otherwise.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from nba_mlops import court
from nba_mlops.data.repair import normalise_action_type, title_words
from nba_mlops.data.schema import (
    INPUT_DEFAULTS,
    NUMERIC_INPUT_COLUMNS,
    SHOT_TYPES,
    SHOT_ZONE_AREA,
    SHOT_ZONE_BASIC,
    SHOT_ZONE_RANGE,
)
from nba_mlops.features.columns import CONTEXT_COLUMNS, MODEL_INPUT_COLUMNS, RAW_INPUT_COLUMNS

# What a caller who leaves a raw field out gets (``data.schema.SHOT_FIELDS``' defaults).
DEFAULTS: dict[str, Any] = dict(INPUT_DEFAULTS)


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
    if isinstance(records, pd.DataFrame):
        return model_frame(canonical_shots(records, today), context)
    return pd.DataFrame(model_columns(shot_columns(records, today), context))


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
    frame["action_type"], _ = normalise_action_type(frame["action_type"])
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


# Raw inputs read as numbers (``loc_x``, ``loc_y`` and ``is_home`` have their own cases).
_NUMERIC: Final = NUMERIC_INPUT_COLUMNS


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
        elif isinstance(frame[column].dtype, pd.StringDtype):
            # text as read (Arrow strings): the feature step looks it up as it is, where
            # Python objects would be built here and turned back into Arrow there
            columns[column] = frame[column].array
        else:
            columns[column] = frame[column].astype("object").to_numpy()
    return pd.DataFrame(columns, index=frame.index)


# --- requests: the same columns without pandas ---------------------------------------------
# A request is one shot (or a few hundred under load): building a DataFrame for it costs
# tens of times what the model needs to score it. ``shot_columns`` gives the values
# ``canonical_shots`` + ``model_frame`` give for a list of records, as plain arrays.
Columns = dict[str, np.ndarray]

# The columns derived from the location when a record leaves them out, each with the
# court's function giving its codes and the names of those codes.
_DERIVED: Final[dict[str, tuple[Callable[[Any, Any], np.ndarray], tuple[str, ...]]]] = {
    "shot_type": (court.shot_type_codes, SHOT_TYPES),
    "shot_zone_basic": (court.zone_basic_codes, SHOT_ZONE_BASIC),
    "shot_zone_area": (court.zone_area_codes, SHOT_ZONE_AREA),
    "shot_zone_range": (court.zone_range_codes, SHOT_ZONE_RANGE),
}
# How ``shot_columns`` reads the other raw inputs: numbers (NaN when missing), numbers
# with a default, and text (with its default, if any). The action type is respelled and
# the season comes from the game date when missing: each has its own case.
_OWN_CASE: Final = ("action_type", "season_start_year")
_NUMBERS: Final = tuple(
    c
    for c in RAW_INPUT_COLUMNS
    if c in NUMERIC_INPUT_COLUMNS and c not in DEFAULTS and c not in _OWN_CASE
)
_NUMBERS_WITH_DEFAULTS: Final = tuple(
    c for c in RAW_INPUT_COLUMNS if c in NUMERIC_INPUT_COLUMNS and c in DEFAULTS
)
_TEXTS: Final = tuple(
    c
    for c in RAW_INPUT_COLUMNS
    if c not in NUMERIC_INPUT_COLUMNS and c not in _DERIVED and c not in _OWN_CASE
)
# Every whole-number location in the range a request may send (tenths of feet).
_GRID_X: Final = (-250, 250)
_GRID_Y: Final = (-60, 900)


@functools.cache
def _zone_grid() -> np.ndarray:
    """The derived columns' codes at every whole-number location (4 x 501 x 961 bytes,
    computed once by the court's own functions): a request's zones are a look-up."""
    xs, ys = np.meshgrid(
        np.arange(_GRID_X[0], _GRID_X[1] + 1, dtype="float64"),
        np.arange(_GRID_Y[0], _GRID_Y[1] + 1, dtype="float64"),
        indexing="ij",
    )
    return np.stack([codes(xs, ys) for codes, _ in _DERIVED.values()]).astype(np.int8)


def _zone_codes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The derived columns' codes at each location (one row per column)."""
    with np.errstate(invalid="ignore"):
        on_grid = (
            (x == np.floor(x))
            & (y == np.floor(y))
            & (x >= _GRID_X[0])
            & (x <= _GRID_X[1])
            & (y >= _GRID_Y[0])
            & (y <= _GRID_Y[1])
        )
    if on_grid.all():
        column = (x - _GRID_X[0]).astype(np.intp)
        row = (y - _GRID_Y[0]).astype(np.intp)
        return _zone_grid()[:, column, row]
    return np.stack([codes(x, y) for codes, _ in _DERIVED.values()])


# pandas' datetimes cover these years; a date outside them is no date to pandas either.
_DATE_YEARS: Final = range(1678, 2262)


def _missing(value: Any) -> bool:
    """What ``pandas.isna`` says of one value of a record."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))


def _number(value: Any) -> float:
    """``pandas.to_numeric(errors="coerce")`` of one value, as a float."""
    if isinstance(value, (bool, int, float, np.integer, np.floating, np.bool_)):
        return float(value)
    if _missing(value):
        return np.nan
    return float(pd.to_numeric(pd.Series([value], dtype="object"), errors="coerce").iloc[0])


def _season_of_dates(values: list[Any], today: dt.date | None) -> np.ndarray:
    """Season start years of game dates (``today``'s season where there is none), as
    ``canonical_shots`` computes them; ISO dates are read directly, anything else by
    pandas as before."""
    default = float(season_start_year(today or dt.date.today()))
    seasons = np.full(len(values), default)
    for i, value in enumerate(values):
        if _missing(value):
            continue
        day: dt.date | None = None
        if type(value) is dt.date:
            day = value
        elif isinstance(value, str) and len(value) == 10 and value[4] == value[7] == "-":
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                day = None
        if day is None or day.year not in _DATE_YEARS:
            dates = pd.to_datetime(pd.Series(values, dtype="object"), errors="coerce")
            fallback = np.where(dates.dt.month >= 8, dates.dt.year, dates.dt.year - 1)
            return np.where(dates.notna(), fallback, default).astype("float64")
        seasons[i] = day.year if day.month >= 8 else day.year - 1
    return seasons


def shot_columns(records: Sequence[Mapping[str, Any]], today: dt.date | None = None) -> Columns:
    """The raw model inputs of ``records`` (``RAW_INPUT_COLUMNS`` and any context column
    a record carries) as arrays: numbers as float64 with NaN for missing, text as objects;
    the values ``model_frame(canonical_shots(records))`` holds, without a DataFrame."""
    present: set[str] = set()
    for record in records:
        present.update(record)

    def values(column: str) -> list[Any]:
        return [record.get(column) for record in records]

    columns: Columns = {}
    for column in (*_NUMBERS, *CONTEXT_COLUMNS):
        if column in present or column in RAW_INPUT_COLUMNS:
            columns[column] = np.array([_number(v) for v in values(column)], dtype="float64")
    for column in _NUMBERS_WITH_DEFAULTS:
        default = DEFAULTS[column]
        columns[column] = np.array(
            [_number(default if _missing(v) else v) for v in values(column)], dtype="float64"
        )
    actions = [
        title_words(str(DEFAULTS["action_type"] if _missing(v) else v))
        for v in values("action_type")
    ]
    columns["action_type"] = np.array(actions, dtype=object)
    for column in _TEXTS:
        texts, default = values(column), DEFAULTS.get(column)
        if default is not None:
            texts = [default if _missing(v) else v for v in texts]
        columns[column] = _objects(texts)
    derived: list[list[int]] | None = None
    for position, (column, (_, names)) in enumerate(_DERIVED.items()):
        given = values(column)
        missing = [_missing(v) for v in given]
        if any(missing):  # requests seldom carry them: derive from the location
            if derived is None:
                derived = _zone_codes(columns["loc_x"], columns["loc_y"]).tolist()
            codes = derived[position]
            given = [
                names[codes[i]] if gap else v
                for i, (v, gap) in enumerate(zip(given, missing, strict=True))
            ]
        columns[column] = _objects(given)
    seasons = values("season_start_year")
    season = np.array([_number(v) for v in seasons], dtype="float64")
    if any(_missing(v) for v in seasons):
        from_dates = _season_of_dates(values("game_date"), today)
        gaps = np.array([_missing(v) for v in seasons], dtype=bool)
        season = np.where(gaps, from_dates, season)
    columns["season_start_year"] = season
    return columns


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def model_columns(shots: Columns, context: Mapping[str, np.ndarray] | None = None) -> Columns:
    """``MODEL_INPUT_COLUMNS`` from ``shot_columns``' arrays and the context (which takes
    precedence over a record's own context fields)."""
    n = len(shots["loc_x"])
    columns: Columns = {}
    for column in MODEL_INPUT_COLUMNS:
        if context is not None and column in context:
            columns[column] = np.asarray(context[column], dtype="float64")
        elif column in shots:
            columns[column] = shots[column]
        else:
            columns[column] = np.full(n, np.nan)
    return columns
