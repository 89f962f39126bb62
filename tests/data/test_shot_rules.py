"""The contract rules and the repairs, row by row, on real sample rows with planted defects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from nba_mlops import court
from nba_mlops.data.ingest import PreparedShots, prepare_shots
from nba_mlops.data.repair import home_flags, season_parts, title_words
from nba_mlops.data.schema import (
    CANONICAL_DTYPES,
    KAGGLE_TO_CANONICAL,
    STORE_COLUMNS,
    season_from_game_id,
)
from nba_mlops.data.validation import SHOT_SCHEMA, shot_schema


def _prepare(rows: pd.DataFrame, *, require_label: bool = True) -> PreparedShots:
    table = pa.Table.from_pandas(rows, preserve_index=False)
    mapping = {c: KAGGLE_TO_CANONICAL[c] for c in rows.columns if c in KAGGLE_TO_CANONICAL}
    return prepare_shots(table, mapping, require_label=require_label)


def _reason(prepared: PreparedShots, row: int) -> str:
    found = prepared.rejected.loc[prepared.rejected["row"] == row, "reason"]
    assert len(found) == 1, prepared.rejected
    return str(found.iloc[0])


def test_clean_rows_pass_and_match_the_declared_schema(kaggle_rows) -> None:
    prepared = _prepare(kaggle_rows(500))
    assert prepared.rejected.empty
    assert len(prepared.shots) == 500
    assert list(prepared.shots.columns) == list(STORE_COLUMNS)
    assert prepared.shots.dtypes.astype(str).to_dict() == CANONICAL_DTYPES
    SHOT_SCHEMA.validate(prepared.shots)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("Period", "9", "period 9 outside 1..8"),
        ("Period", "0", "period 0 outside 1..8"),
        ("Minutes Remaining", "13", "minutes_remaining 13 outside 0..12"),
        ("Seconds Remaining", "60", "seconds_remaining 60 outside 0..59"),
        ("X Location", "251", "loc_x 251 outside -250..250"),
        ("Y Location", "-61", "loc_y -61 outside -60..900"),
        ("Y Location", "901", "loc_y 901 outside -60..900"),
        ("Shot Made Flag", "2", "shot_made_flag 2 not in [0, 1]"),
        ("Shot Type", "4PT Field Goal", "shot_type '4PT Field Goal' not in"),
        ("Shot Zone Basic", "Paint", "shot_zone_basic 'Paint' is not an allowed value"),
        ("Season Type", "Preseason", "season_type 'Preseason' not in"),
        ("Game Date", "19950101", "game_date '1995-01-01' outside 1996-10-01 .. today"),
        ("Game Date", "20990101", "game_date '2099-01-01' outside 1996-10-01 .. today"),
        ("Game Date", "someday", "game_date: not a date"),
        ("X Location", "abc", "loc_x: not an integer"),
        ("X Location", "12.5", "loc_x: not an integer"),
        ("Game ID", "", "game_id: missing"),
        ("Action Type", "  ", "action_type missing"),
    ],
)
def test_each_rule_names_the_broken_value(kaggle_rows, column: str, value: str, reason: str):
    rows = kaggle_rows(50)
    rows.loc[7, column] = value
    prepared = _prepare(rows)
    assert len(prepared.shots) == 49
    assert 7 not in prepared.shots.index
    assert reason in _reason(prepared, 7)


def test_every_reason_of_a_row_is_kept(kaggle_rows) -> None:
    rows = kaggle_rows(10)
    rows.loc[2, ["Period", "X Location", "Shot Made Flag"]] = ["0", "999", "x"]
    reason = _reason(_prepare(rows), 2)
    assert "period 0 outside" in reason
    assert "loc_x 999 outside" in reason
    assert "shot_made_flag: not an integer" in reason
    assert reason.count(";") == 2


def test_numbers_are_read_generously(kaggle_rows) -> None:
    rows = kaggle_rows(10)
    rows.loc[0, "Game ID"] = "0" + rows.loc[0, "Game ID"]  # leading zeros, as the NBA API
    rows.loc[1, "X Location"] = "12.0"
    rows.loc[2, "Period"] = " 3 "
    rows.loc[3, "Game Date"] = "2001-12-19"
    rows.loc[4, "Game Date"] = "20011219.0"
    prepared = _prepare(rows)
    assert prepared.rejected.empty
    assert prepared.shots.loc[1, "loc_x"] == 12
    assert prepared.shots.loc[2, "period"] == 3
    assert prepared.shots.loc[3, "game_date"] == pd.Timestamp("2001-12-19")
    assert prepared.shots.loc[4, "game_date"] == pd.Timestamp("2001-12-19")


def test_missing_label_is_allowed_only_for_shots_to_predict(kaggle_rows) -> None:
    rows = kaggle_rows(10)
    rows.loc[4, "Shot Made Flag"] = ""
    assert "shot_made_flag: missing" in _reason(_prepare(rows), 4)
    prepared = _prepare(rows, require_label=False)
    assert prepared.rejected.empty
    assert prepared.shots["shot_made_flag"].isna().sum() == 1
    shot_schema(require_label=False).validate(prepared.shots)


# --- repairs ---------------------------------------------------------------------------------
def test_action_type_capitalisation_is_normalised() -> None:
    assert title_words("Pullup Jump shot") == "Pullup Jump Shot"
    assert title_words("running pull-up  JUMP shot") == "Running Pull-Up Jump Shot"


def test_repairs_are_made_and_counted(kaggle_rows) -> None:
    rows = kaggle_rows(100)
    rows.loc[0, "Action Type"] = "Pullup Jump shot"
    rows.loc[1, ["X Location", "Y Location", "Shot Distance"]] = ["-150", "180", "0"]
    rows.loc[2, ["X Location", "Y Location", "Shot Distance"]] = ["0", "244", "24"]  # 24.4 ft
    rows.loc[3, ["Shot Zone Basic", "Shot Zone Area", "Shot Zone Range"]] = ["", "", ""]
    rows.loc[3, ["X Location", "Y Location"]] = ["-230", "10"]
    rows.loc[4, "Shot Type"] = ""
    rows.loc[4, ["X Location", "Y Location"]] = ["0", "260"]
    rows.loc[5, ["Season Type", "Game Date"]] = ["", ""]
    rows.loc[5, "Game ID"] = "42200101"
    prepared = _prepare(rows)
    shots = prepared.shots
    assert prepared.rejected.empty, prepared.rejected
    assert shots.loc[0, "action_type"] == "Pullup Jump Shot"
    assert shots.loc[1, "shot_distance"] == 23  # 23.4 ft from x/y, not 0
    assert shots.loc[2, "shot_distance"] == 24  # within tolerance: kept
    assert shots.loc[3, ["shot_zone_basic", "shot_zone_area", "shot_zone_range"]].tolist() == [
        "Left Corner 3",
        "Left Side(L)",
        "24+ ft.",
    ]
    assert shots.loc[4, "shot_type"] == "3PT Field Goal"
    assert shots.loc[5, ["season", "season_type"]].tolist() == ["2022-23", "Playoffs"]
    assert shots.loc[5, "season_start_year"] == 2022
    counts = prepared.repairs
    assert counts["action_type_case"] >= 1
    assert counts["shot_distance_recomputed"] >= 1
    assert counts["zones_derived"] >= 1
    assert counts["shot_type_derived"] == 1
    assert counts["season_type_derived"] == 1
    assert counts["season_from_game_id_undated"] == 1
    assert prepared.repaired >= 5


def test_distance_is_recomputed_only_beyond_the_tolerance(kaggle_rows) -> None:
    rows = kaggle_rows(3)
    rows[["X Location", "Y Location"]] = ["0", "100"]
    rows["Shot Distance"] = ["10", "11", "12"]  # 10 ft exactly; 1 and 2 ft off
    shots = _prepare(rows).shots
    assert shots["shot_distance"].tolist() == [10, 11, 10]


def test_derived_zones_match_the_court() -> None:
    x = np.array([-230, 0, 150, 0])
    y = np.array([10, 20, 120, 300])
    assert court.zone_basic(x, y).tolist() == [
        "Left Corner 3",
        "Restricted Area",
        "Mid-Range",
        "Above the Break 3",
    ]


@pytest.mark.parametrize("game_id", [29600001, 49900005, 20400001, 22200001, 42200406, 11900001])
def test_vectorised_season_matches_the_schema(game_id: int) -> None:
    start, kind = season_parts([game_id])
    label, year, season_type = season_from_game_id(game_id)
    assert int(start[0]) == year
    assert label == f"{year}-{(year + 1) % 100:02d}"
    assert {2: "Regular Season", 4: "Playoffs"}.get(int(kind[0]), "Other") == season_type


def test_home_flags_follow_franchise_moves() -> None:
    frame = pd.DataFrame(
        {
            "team_id": pd.array(
                [1610612760, 1610612760, 1610612763, 1610612766, 1610612751, None, 1610612747],
                dtype="Int64",
            ),
            "home_team": pd.Series(["SEA", "LAL", "VAN", "NYK", "BKN", "LAL", "XXX"], dtype="str"),
            "away_team": pd.Series(["UTA", "OKC", "MIN", "CHH", "BOS", "BOS", "YYY"], dtype="str"),
        }
    )
    assert home_flags(frame).tolist() == [1, 0, 1, 0, 1, pd.NA, pd.NA]
