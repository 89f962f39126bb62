"""The declared contract of the canonical shot frame, and per-row reasons for rows that break it.

Two steps turn a source table into reasons: :func:`coerce_table` converts the source
columns to the canonical types and notes every value that is not what its column needs
(``loc_x: not an integer ('abc')``); after the repairs, :func:`row_reasons` validates the
frame against :data:`SHOT_SCHEMA` (pandera, lazily, on the whole frame at once) and turns
its failure cases into one reason string per failing row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc

from nba_mlops.data.schema import (
    CANONICAL_DTYPES,
    IS_HOME,
    SEASON_TYPES,
    SHOT_TYPES,
    SHOT_ZONE_AREA,
    SHOT_ZONE_BASIC,
    SHOT_ZONE_RANGE,
    STORE_COLUMNS,
    TARGET,
)

BoolArray = npt.NDArray[np.bool_]

FIRST_GAME_DATE: Final = pd.Timestamp("1996-10-01")
DERIVED_COLUMNS: Final = ("season", "season_start_year", IS_HOME)
# Integer columns a source must fill on every row (missing values are reasons).
REQUIRED_INTEGERS: Final = (
    "game_id",
    "game_event_id",
    "player_id",
    "period",
    "minutes_remaining",
    "seconds_remaining",
    "loc_x",
    "loc_y",
    TARGET,
)
# Integer columns that may be missing in the source: left nullable here, then repaired
# (``shot_distance``) or kept nullable (``team_id``).
OPTIONAL_INTEGERS: Final = ("team_id", "shot_distance")
STRING_COLUMNS: Final = tuple(c for c, d in CANONICAL_DTYPES.items() if d == "str")
DATE_FORMATS: Final = ("%Y%m%d", "%Y-%m-%d", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%S")


def _plausible_game_date(dates: pd.Series) -> pd.Series:
    today = pd.Timestamp(dt.date.today())
    return dates.between(FIRST_GAME_DATE, today)


def _column(dtype: str, *checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(dtype, list(checks), nullable=nullable)


# The canonical frame, declared once. Every stage after ingestion can rely on it.
SHOT_SCHEMA: Final = pa.DataFrameSchema(
    {
        "game_id": _column("int64", pa.Check.in_range(1, 99_999_999)),
        "game_event_id": _column("int64", pa.Check.in_range(0, 999_999)),
        "player_id": _column("int64", pa.Check.gt(0)),
        "player_name": _column("str", nullable=True),
        "team_id": _column("Int64", pa.Check.gt(0), nullable=True),
        "team_name": _column("str", nullable=True),
        "period": _column("int64", pa.Check.in_range(1, 8)),
        "minutes_remaining": _column("int64", pa.Check.in_range(0, 12)),
        "seconds_remaining": _column("int64", pa.Check.in_range(0, 59)),
        "action_type": _column("str"),
        "shot_type": _column("str", pa.Check.isin(SHOT_TYPES)),
        "shot_zone_basic": _column("str", pa.Check.isin(SHOT_ZONE_BASIC)),
        "shot_zone_area": _column("str", pa.Check.isin(SHOT_ZONE_AREA)),
        "shot_zone_range": _column("str", pa.Check.isin(SHOT_ZONE_RANGE)),
        "shot_distance": _column("int64", pa.Check.ge(0)),
        "loc_x": _column("int64", pa.Check.in_range(-250, 250)),
        "loc_y": _column("int64", pa.Check.in_range(-60, 900)),
        TARGET: _column("int64", pa.Check.isin([0, 1])),
        "game_date": _column(
            "datetime64[s]",
            pa.Check(
                _plausible_game_date,
                name="plausible_game_date",
                error="outside 1996-10-01 .. today",
            ),
            nullable=True,
        ),
        "home_team": _column("str", nullable=True),
        "away_team": _column("str", nullable=True),
        "season_type": _column("str", pa.Check.isin(SEASON_TYPES)),
        "season": _column("str", pa.Check.str_matches(r"^\d{4}-\d{2}$")),
        "season_start_year": _column("int64", pa.Check.in_range(1996, 2100)),
        IS_HOME: _column("Int8", pa.Check.isin([0, 1]), nullable=True),
    },
    strict=True,
    ordered=True,
    name="canonical_shots",
)


@lru_cache
def shot_schema(require_label: bool = True) -> pa.DataFrameSchema:
    """:data:`SHOT_SCHEMA`, or its variant for shots to predict whose outcome is unknown."""
    if require_label:
        return SHOT_SCHEMA
    return SHOT_SCHEMA.update_column(TARGET, dtype="Int64", nullable=True)


@dataclass
class CoercedShots:
    """Source columns in canonical types, before repairs, with the values that did not fit."""

    frame: pd.DataFrame
    # column -> rows (positions) whose source value could not be read, and why.
    problems: dict[str, tuple[BoolArray, str]] = field(default_factory=dict)


# --- coercion -------------------------------------------------------------------------------
def _is_text(kind: pa_arrow.DataType) -> bool:
    return bool(pa_arrow.types.is_string(kind) or pa_arrow.types.is_large_string(kind))


def _blank_to_null(values: pa_arrow.ChunkedArray) -> pa_arrow.ChunkedArray:
    # Trimming ASCII whitespace byte-wise is safe on UTF-8 and much faster than Unicode.
    trimmed = pc.ascii_trim_whitespace(values.cast(pa_arrow.large_string()))
    return pc.if_else(pc.equal(trimmed, ""), pa_arrow.scalar(None, trimmed.type), trimmed)


def _valid(values: pa_arrow.ChunkedArray) -> BoolArray:
    return np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False), dtype=bool)


def coerce_integer(values: pa_arrow.ChunkedArray) -> tuple[pa_arrow.ChunkedArray, BoolArray]:
    """Integers (int64, nulls kept) from any source type, and where a value was no integer.

    Leading zeros (``0022200001``) and integral floats (``12.0``) are integers.
    """
    kind = values.type
    clean = np.zeros(len(values), dtype=bool)
    if pa_arrow.types.is_null(kind) or pa_arrow.types.is_integer(kind):
        return pc.cast(values, pa_arrow.int64()), clean
    if pa_arrow.types.is_boolean(kind):
        return pc.cast(values, pa_arrow.int64()), clean
    if pa_arrow.types.is_floating(kind) or pa_arrow.types.is_decimal(kind):
        return _integral(pc.cast(values, pa_arrow.float64()))
    if not _is_text(kind):
        return pc.cast(pa_arrow.nulls(len(values)), pa_arrow.int64()), _valid(values)
    try:  # the common case: clean digits
        return pc.cast(values, pa_arrow.int64()), clean
    except (pa_arrow.ArrowInvalid, pa_arrow.ArrowNotImplementedError):
        pass
    text = _blank_to_null(values)
    try:
        return pc.cast(text, pa_arrow.int64()), clean
    except (pa_arrow.ArrowInvalid, pa_arrow.ArrowNotImplementedError):
        pass
    numbers = pd.to_numeric(text.to_pandas(), errors="coerce").to_numpy(dtype=float)
    integers, bad = _integral(pa_arrow.chunked_array([pa_arrow.array(numbers)]))
    return integers, bad | (_valid(text) & np.isnan(numbers))


def _integral(values: pa_arrow.ChunkedArray) -> tuple[pa_arrow.ChunkedArray, BoolArray]:
    numbers = np.asarray(values.to_numpy(), dtype=float)
    with np.errstate(invalid="ignore"):
        fits = np.isfinite(numbers) & (numbers == np.floor(numbers)) & (np.abs(numbers) < 2**62)
    bad = ~np.isnan(numbers) & ~fits
    result = pa_arrow.array(np.where(fits, numbers, 0).astype(np.int64), mask=~fits)
    return pa_arrow.chunked_array([result]), bad


def coerce_string(values: pa_arrow.ChunkedArray) -> pa_arrow.ChunkedArray:
    """Text with surrounding spaces removed and blanks as missing."""
    if pa_arrow.types.is_null(values.type):
        return pc.cast(values, pa_arrow.large_string())
    return _blank_to_null(pc.cast(values, pa_arrow.large_string()))


def coerce_date(values: pa_arrow.ChunkedArray) -> tuple[pa_arrow.ChunkedArray, BoolArray]:
    """Dates (timestamp[s], nulls kept) from ``YYYYMMDD`` numbers or text, ISO text or
    dates, and where a value was no date."""
    kind = values.type
    target = pa_arrow.timestamp("s")
    clean = np.zeros(len(values), dtype=bool)
    if pa_arrow.types.is_null(kind):
        return pc.cast(values, target), clean
    if pa_arrow.types.is_timestamp(kind) or pa_arrow.types.is_date(kind):
        return pc.cast(values, target), clean
    if pa_arrow.types.is_floating(kind) or pa_arrow.types.is_integer(kind):
        numbers, bad = coerce_integer(values)
        text = pc.cast(numbers, pa_arrow.large_string())
    else:
        text = coerce_string(values)
        if pc.any(pc.match_substring(text, ".")).as_py():  # "20230416.0" from float writers
            text = pc.replace_substring_regex(text, r"^(\d{8})\.0*$", r"\1")
        bad = clean
    present = _valid(text)
    dates = pc.strptime(text, format=DATE_FORMATS[0], unit="s", error_is_null=True)
    for other in DATE_FORMATS[1:]:
        if not (present & ~_valid(dates)).any():
            break
        dates = pc.coalesce(dates, pc.strptime(text, format=other, unit="s", error_is_null=True))
    return dates, bad | (present & ~_valid(dates))


def coerce_table(
    table: pa_arrow.Table, mapping: Mapping[str, str], *, require_label: bool = True
) -> CoercedShots:
    """Canonical columns from a source table whose columns ``mapping`` names.

    Required integers come out as ``int64`` (a missing or unreadable value becomes 0 and
    a problem); optional columns absent from the source come out empty, ready for repair.
    """
    source_of = {canonical: source for source, canonical in mapping.items()}
    rows = table.num_rows
    columns: dict[str, pd.Series] = {}
    problems: dict[str, tuple[BoolArray, str]] = {}

    def source_values(name: str) -> pa_arrow.ChunkedArray | None:
        source = source_of.get(name)
        return table.column(source) if source is not None else None

    for name in (*REQUIRED_INTEGERS, *OPTIONAL_INTEGERS):
        values = source_values(name)
        required = name in REQUIRED_INTEGERS and (name != TARGET or require_label)
        if values is None:
            numbers, bad = pc.cast(pa_arrow.nulls(rows), pa_arrow.int64()), np.zeros(rows, bool)
        else:
            numbers, bad = coerce_integer(values)
        if bad.any():
            problems[name] = (bad, "not an integer")
        if required:
            if numbers.null_count:
                missing = ~_valid(numbers) & ~bad
                if missing.any():
                    problems[f"{name}:missing"] = (missing, "missing")
                numbers = pc.fill_null(numbers, 0)
            columns[name] = pd.Series(numbers.to_numpy(), dtype="int64")
        else:
            columns[name] = numbers.to_pandas(types_mapper={pa_arrow.int64(): pd.Int64Dtype()}.get)
    for name in STRING_COLUMNS:
        if name in DERIVED_COLUMNS:
            continue
        values = source_values(name)
        if values is None:
            columns[name] = pd.Series(index=range(rows), dtype="str")
        else:
            columns[name] = coerce_string(values).to_pandas().astype("str")
    date_values = source_values("game_date")
    if date_values is None:
        columns["game_date"] = pd.Series(pd.NaT, index=range(rows), dtype="datetime64[s]")
    else:
        dates, bad = coerce_date(date_values)
        if bad.any():
            problems["game_date"] = (bad, "not a date")
        columns["game_date"] = dates.to_pandas().astype("datetime64[s]")
    frame = pd.DataFrame({name: col.reset_index(drop=True) for name, col in columns.items()})
    return CoercedShots(frame=frame, problems=problems)


# --- validation -----------------------------------------------------------------------------
def _describe(column: str, check: pa.Check | None, value: Any) -> str:
    shown = value.item() if isinstance(value, np.generic) else value
    if isinstance(shown, pd.Timestamp | dt.datetime):
        shown = shown.date().isoformat()
    if check is None:
        return f"{column} missing"
    stats = check.statistics or {}
    if check.name == "in_range":
        return f"{column} {shown!r} outside {stats['min_value']}..{stats['max_value']}"
    if check.name == "isin":
        allowed = list(stats["allowed_values"])
        if len(allowed) <= 3:
            return f"{column} {shown!r} not in {allowed}"
        return f"{column} {shown!r} is not an allowed value"
    if check.name in ("greater_than_or_equal_to", "greater_than"):
        bound = "below" if check.name == "greater_than_or_equal_to" else "not above"
        return f"{column} {shown!r} {bound} {stats['min_value']}"
    if check.name == "str_matches":
        return f"{column} {shown!r} does not match {stats['pattern']}"
    return f"{column} {shown!r} {check.error or check.name}"


def row_reasons(
    frame: pd.DataFrame,
    problems: Mapping[str, tuple[BoolArray, str]] | None = None,
    *,
    require_label: bool = True,
) -> pd.Series:
    """Reason text for every row of ``frame`` (a RangeIndex) that breaks the contract.

    ``problems`` are the coercion problems; a column's schema failure on a row that
    already has a coercion problem in that column is not repeated.
    """
    schema = shot_schema(require_label)
    positions: list[npt.NDArray[np.int64]] = []
    texts: list[Any] = []
    flagged: dict[str, BoolArray] = {}
    for key, (mask, message) in (problems or {}).items():
        column = key.split(":", 1)[0]
        flagged[column] = flagged.get(column, np.zeros(len(frame), dtype=bool)) | mask
        where = np.flatnonzero(mask)
        positions.append(where.astype(np.int64))
        texts.append(np.full(len(where), f"{column}: {message}", dtype=object))
    try:
        schema.validate(frame, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        if cases["index"].isna().any():
            whole = cases[cases["index"].isna()]
            raise RuntimeError(f"canonical frame breaks its own schema: {whole}") from errors
        for (column, number), group in cases.groupby(
            ["column", "check_number"], dropna=False, sort=False
        ):
            check = None if pd.isna(number) else schema.columns[column].checks[int(number)]
            if check is None and group["check"].iloc[0] != "not_nullable":
                raise RuntimeError(f"unexpected schema failure: {group.head()}") from errors
            where = group["index"].to_numpy(dtype=np.int64)
            values = group["failure_case"].to_numpy(dtype=object)
            if column in flagged:
                keep = ~flagged[column][where]
                where, values = where[keep], values[keep]
            positions.append(where)
            texts.append(np.array([_describe(str(column), check, v) for v in values], dtype=object))
    if not positions:
        return pd.Series([], dtype="str", index=pd.Index([], dtype="int64"))
    reasons = pd.DataFrame({"row": np.concatenate(positions), "reason": np.concatenate(texts)})
    if reasons.empty:
        return pd.Series([], dtype="str", index=pd.Index([], dtype="int64"))
    joined = reasons.groupby("row", sort=True)["reason"].agg("; ".join)
    joined.index.name = None
    return joined.astype("str")


def to_store_dtypes(frame: pd.DataFrame, *, require_label: bool = True) -> pd.DataFrame:
    """Canonical column order and dtypes (the accepted rows, after validation)."""
    dtypes = dict(CANONICAL_DTYPES)
    if not require_label:
        dtypes[TARGET] = "Int64"
    return frame.loc[:, list(STORE_COLUMNS)].astype(dtypes)


def empty_shots_frame() -> pd.DataFrame:
    """A canonical frame without rows."""
    return pd.DataFrame(
        {name: pd.Series(dtype=dtype) for name, dtype in CANONICAL_DTYPES.items()}
    ).loc[:, list(STORE_COLUMNS)]
