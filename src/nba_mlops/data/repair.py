"""Repairs for the known gaps of real shot data, and the columns derived at ingestion.

Real feeds leave zones empty, put 0 in ``shot_distance`` for shots far from the basket,
vary the capitalisation of ``action_type`` and miss game dates. None of that is a reason
to drop a shot: the location, the game id and the teams carry what is missing. Every
repair is returned as a row mask so the ingest report can count it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nba_mlops import court
from nba_mlops.data.schema import (
    IS_HOME,
    SHOT_TYPES,
    SHOT_ZONE_AREA,
    SHOT_ZONE_BASIC,
    SHOT_ZONE_RANGE,
    TEAM_ID_BY_ABBREVIATION,
)

BoolArray = npt.NDArray[np.bool_]

# A stated distance further than this from the one the location gives is wrong. The
# feeds round to whole feet, so honest values are never more than half a foot off.
DISTANCE_TOLERANCE_FT: Final = 1.5

REPAIR_KINDS: Final = (
    "action_type_case",
    "shot_distance_recomputed",
    "zones_derived",
    "shot_type_derived",
    "season_type_derived",
    "season_from_game_id_undated",
)

_SEASON_TYPE_NAMES: Final = ("Regular Season", "Playoffs", "Other")


@dataclass
class RepairedShots:
    """The repaired frame and, per kind of repair, the rows it changed."""

    frame: pd.DataFrame
    repairs: dict[str, BoolArray]

    def counts(self, rows: BoolArray | None = None) -> dict[str, int]:
        """How many rows (of ``rows``, default all) each repair touched."""
        return {
            kind: int(mask[rows].sum() if rows is not None else mask.sum())
            for kind, mask in self.repairs.items()
        }

    def repaired_rows(self) -> BoolArray:
        """Rows touched by at least one repair."""
        touched = np.zeros(len(self.frame), dtype=bool)
        for mask in self.repairs.values():
            touched |= mask
        return touched


def title_words(text: str) -> str:
    """``"pullup jump shot"`` -> ``"Pullup Jump Shot"``; hyphenated words keep both capitals."""
    words = ("-".join(p[:1].upper() + p[1:].lower() for p in w.split("-")) for w in text.split())
    return " ".join(words)


def _labels(codes: npt.NDArray[np.intp], present: BoolArray, names: npt.ArrayLike) -> pa.Array:
    """Text of ``names[codes]`` where ``present``, else missing, built without Python objects."""
    indices = pa.array(np.where(present, codes, 0).astype(np.int32), mask=~present)
    dictionary = pa.array(np.asarray(names, dtype=object), type=pa.large_string())
    return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.large_string())


def _text_series(values: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(values.to_pandas(), dtype="str").set_axis(index)


def normalise_action_type(actions: pd.Series) -> tuple[pd.Series, BoolArray]:
    """Action types in title-case words, and which rows changed."""
    codes, uniques = pd.factorize(actions, use_na_sentinel=True)
    originals = np.asarray(uniques, dtype=object)
    fixed = np.array([title_words(str(u)) for u in originals], dtype=object)
    changed_unique = fixed != originals
    if not changed_unique.any():
        return actions, np.zeros(len(actions), dtype=bool)
    present = codes >= 0
    changed = present & changed_unique[np.maximum(codes, 0)]
    return _text_series(_labels(codes, present, fixed), actions.index), changed


def _fill(frame: pd.DataFrame, column: str, missing: BoolArray, labels: pa.Array) -> None:
    """Fill the missing rows of a text column from ``labels`` (aligned on all rows)."""
    filled = pc.coalesce(pa.array(frame[column], type=pa.large_string()), labels)
    frame[column] = _text_series(filled, frame.index)


def season_parts(game_ids: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Season start year and season kind digit (2 regular, 4 playoffs) of game ids,
    vectorised like ``schema.season_from_game_id``."""
    digits = np.asarray(game_ids, dtype=np.int64) % 100_000_000
    kind = digits // 10_000_000
    yy = (digits // 100_000) % 100
    start = np.where(yy >= 46, 1900 + yy, 2000 + yy)
    return start.astype(np.int64), kind.astype(np.int64)


def season_labels(start_years: npt.NDArray[np.int64]) -> pa.Array:
    """``2022`` -> ``"2022-23"`` for every start year."""
    years, codes = np.unique(start_years, return_inverse=True)
    names = [f"{y}-{(y + 1) % 100:02d}" for y in years.tolist()]
    return _labels(codes.reshape(-1), np.ones(len(codes), dtype=bool), names)


def _team_ids(abbreviations: pd.Series) -> npt.NDArray[np.float64]:
    known = pa.array(list(TEAM_ID_BY_ABBREVIATION), type=pa.large_string())
    ids = np.array([*TEAM_ID_BY_ABBREVIATION.values(), np.nan], dtype=np.float64)
    text = pc.utf8_upper(pa.array(abbreviations, type=pa.large_string()))
    position = pc.fill_null(pc.index_in(text, value_set=known), len(known) - 0)
    return ids[np.asarray(position.to_numpy(zero_copy_only=False), dtype=np.intp)]


def home_flags(frame: pd.DataFrame) -> pd.Series:
    """``is_home``: 1 when the shooter's team is the game's home team, 0 away, else <NA>."""
    team = frame["team_id"].to_numpy(dtype="float64", na_value=np.nan)
    is_home = team == _team_ids(frame["home_team"])
    is_away = team == _team_ids(frame["away_team"])
    flags = pd.array(is_home.astype(np.int8), dtype="Int8")
    flags[~(is_home ^ is_away)] = pd.NA
    return pd.Series(flags, index=frame.index, name=IS_HOME)


def repair_shots(frame: pd.DataFrame) -> RepairedShots:
    """Repair the gaps of a coerced canonical frame and add the derived columns."""
    frame = frame.copy()
    repairs: dict[str, BoolArray] = {}
    x = frame["loc_x"].to_numpy(dtype=np.int64)
    y = frame["loc_y"].to_numpy(dtype=np.int64)

    frame["action_type"], repairs["action_type_case"] = normalise_action_type(frame["action_type"])

    exact = court.distance_ft(x, y)
    stated = frame["shot_distance"].to_numpy(dtype="float64", na_value=np.nan)
    wrong = np.isnan(stated) | (np.abs(stated - exact) > DISTANCE_TOLERANCE_FT)
    frame["shot_distance"] = np.where(wrong, np.floor(exact + 0.5), stated).astype(np.int64)
    repairs["shot_distance_recomputed"] = wrong

    zones = (
        ("shot_zone_basic", court.zone_basic_codes, SHOT_ZONE_BASIC),
        ("shot_zone_area", court.zone_area_codes, SHOT_ZONE_AREA),
        ("shot_zone_range", court.zone_range_codes, SHOT_ZONE_RANGE),
    )
    derived = np.zeros(len(frame), dtype=bool)
    for column, codes_of, names in zones:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            codes = np.zeros(len(frame), dtype=np.intp)
            codes[missing] = codes_of(x[missing], y[missing])
            _fill(frame, column, missing, _labels(codes, missing, names))
            derived |= missing
    repairs["zones_derived"] = derived

    missing = frame["shot_type"].isna().to_numpy()
    if missing.any():
        codes = np.zeros(len(frame), dtype=np.intp)
        codes[missing] = court.shot_type_codes(x[missing], y[missing])
        _fill(frame, "shot_type", missing, _labels(codes, missing, SHOT_TYPES))
    repairs["shot_type_derived"] = missing

    start, kind = season_parts(frame["game_id"].to_numpy())
    frame["season"] = _text_series(season_labels(start), frame.index)
    frame["season_start_year"] = start
    missing = frame["season_type"].isna().to_numpy()
    if missing.any():
        # Codes into _SEASON_TYPE_NAMES: regular season, playoffs, other (rejected later).
        codes = np.select([kind == 2, (kind == 4) | (kind == 5)], [0, 1], default=2)
        _fill(frame, "season_type", missing, _labels(codes, missing, _SEASON_TYPE_NAMES))
    repairs["season_type_derived"] = missing
    repairs["season_from_game_id_undated"] = frame["game_date"].isna().to_numpy()

    frame[IS_HOME] = home_flags(frame)
    return RepairedShots(frame=frame, repairs=repairs)
