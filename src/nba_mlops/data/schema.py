"""The canonical shot schema and the mapping from each supported source layout onto it.

Every stage after ingestion speaks only these snake_case column names. Two source
layouts are recognised: the Kaggle "NBA Shot Locations" layout (``Game ID, Game Event
ID, ...``) and the NBA stats ``shotchartdetail`` layout (``game_id, game_event_id, ...,
loc_x, loc_y, htm, vtm``), in any letter case.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

# --- canonical columns, in store order -----------------------------------------------------
GAME_ID: Final = "game_id"
GAME_EVENT_ID: Final = "game_event_id"
KEY_COLUMNS: Final = (GAME_ID, GAME_EVENT_ID)

CANONICAL_COLUMNS: Final = (
    "game_id",
    "game_event_id",
    "player_id",
    "player_name",
    "team_id",
    "team_name",
    "period",
    "minutes_remaining",
    "seconds_remaining",
    "action_type",
    "shot_type",
    "shot_zone_basic",
    "shot_zone_area",
    "shot_zone_range",
    "shot_distance",
    "loc_x",
    "loc_y",
    "shot_made_flag",
    "game_date",
    "home_team",
    "away_team",
    "season_type",
    # derived at ingestion
    "season",
    "season_start_year",
)

TARGET: Final = "shot_made_flag"

# Derived at ingestion from the team id and the home/away abbreviations: 1 when the
# shooter's team plays at home, 0 away, missing when unknown.
IS_HOME: Final = "is_home"
STORE_COLUMNS: Final = (*CANONICAL_COLUMNS, IS_HOME)

# pandas dtypes of the canonical frame (the store and every stage after ingestion).
# Required integers are never missing; ``team_id`` and ``game_date`` may be.
CANONICAL_DTYPES: Final = {
    "game_id": "int64",
    "game_event_id": "int64",
    "player_id": "int64",
    "player_name": "str",
    "team_id": "Int64",
    "team_name": "str",
    "period": "int64",
    "minutes_remaining": "int64",
    "seconds_remaining": "int64",
    "action_type": "str",
    "shot_type": "str",
    "shot_zone_basic": "str",
    "shot_zone_area": "str",
    "shot_zone_range": "str",
    "shot_distance": "int64",
    "loc_x": "int64",
    "loc_y": "int64",
    "shot_made_flag": "int64",
    "game_date": "datetime64[s]",
    "home_team": "str",
    "away_team": "str",
    "season_type": "str",
    "season": "str",
    "season_start_year": "int64",
    "is_home": "Int8",
}

# Columns a source file must carry to be a shot file at all; everything else is
# optional and repaired or derived when missing.
REQUIRED_COLUMNS: Final = (
    "game_id",
    "game_event_id",
    "player_id",
    "period",
    "minutes_remaining",
    "seconds_remaining",
    "action_type",
    "loc_x",
    "loc_y",
    "shot_made_flag",
)

# --- allowed categories ---------------------------------------------------------------------
SHOT_TYPES: Final = ("2PT Field Goal", "3PT Field Goal")
SEASON_TYPES: Final = ("Regular Season", "Playoffs")
SHOT_ZONE_BASIC: Final = (
    "Restricted Area",
    "In The Paint (Non-RA)",
    "Mid-Range",
    "Left Corner 3",
    "Right Corner 3",
    "Above the Break 3",
    "Backcourt",
)
SHOT_ZONE_AREA: Final = (
    "Center(C)",
    "Left Side(L)",
    "Right Side(R)",
    "Left Side Center(LC)",
    "Right Side Center(RC)",
    "Back Court(BC)",
)
SHOT_ZONE_RANGE: Final = (
    "Less Than 8 ft.",
    "8-16 ft.",
    "16-24 ft.",
    "24+ ft.",
    "Back Court Shot",
)

# --- source layouts -------------------------------------------------------------------------
KAGGLE_TO_CANONICAL: Final = {
    "Game ID": "game_id",
    "Game Event ID": "game_event_id",
    "Player ID": "player_id",
    "Player Name": "player_name",
    "Team ID": "team_id",
    "Team Name": "team_name",
    "Period": "period",
    "Minutes Remaining": "minutes_remaining",
    "Seconds Remaining": "seconds_remaining",
    "Action Type": "action_type",
    "Shot Type": "shot_type",
    "Shot Zone Basic": "shot_zone_basic",
    "Shot Zone Area": "shot_zone_area",
    "Shot Zone Range": "shot_zone_range",
    "Shot Distance": "shot_distance",
    "X Location": "loc_x",
    "Y Location": "loc_y",
    "Shot Made Flag": "shot_made_flag",
    "Game Date": "game_date",
    "Home Team": "home_team",
    "Away Team": "away_team",
    "Season Type": "season_type",
}

SHOTCHARTDETAIL_TO_CANONICAL: Final = {
    "game_id": "game_id",
    "game_event_id": "game_event_id",
    "player_id": "player_id",
    "player_name": "player_name",
    "team_id": "team_id",
    "team_name": "team_name",
    "period": "period",
    "minutes_remaining": "minutes_remaining",
    "seconds_remaining": "seconds_remaining",
    "action_type": "action_type",
    "shot_type": "shot_type",
    "shot_zone_basic": "shot_zone_basic",
    "shot_zone_area": "shot_zone_area",
    "shot_zone_range": "shot_zone_range",
    "shot_distance": "shot_distance",
    "loc_x": "loc_x",
    "loc_y": "loc_y",
    "shot_made_flag": "shot_made_flag",
    "game_date": "game_date",
    "htm": "home_team",
    "vtm": "away_team",
}


LAYOUTS: Final = {"kaggle": KAGGLE_TO_CANONICAL, "shotchartdetail": SHOTCHARTDETAIL_TO_CANONICAL}


def detect_layout(
    columns: list[str], required: Iterable[str] = REQUIRED_COLUMNS
) -> tuple[str, dict[str, str]] | None:
    """Name the source layout of a header and return its mapping onto canonical names.

    Matching ignores case and surrounding spaces. Returns ``None`` when the header is
    neither layout (the caller then reports the missing required columns).
    """
    normalised = {c.strip().lower(): c for c in columns}
    needed = set(required)
    for name, mapping in LAYOUTS.items():
        found = {normalised[k.lower()]: v for k, v in mapping.items() if k.lower() in normalised}
        if needed <= set(found.values()):
            return name, found
    return None


def missing_required_columns(
    columns: list[str], required: Iterable[str] = REQUIRED_COLUMNS
) -> tuple[str, list[str]]:
    """The layout a header comes closest to and the required source columns it lacks."""
    normalised = {c.strip().lower() for c in columns}
    best: tuple[str, list[str]] | None = None
    for name, mapping in LAYOUTS.items():
        source_name = {v: k for k, v in mapping.items()}
        missing = [source_name[c] for c in required if source_name[c].lower() not in normalised]
        if best is None or len(missing) < len(best[1]):
            best = (name, missing)
    assert best is not None
    return best


def season_from_game_id(game_id: int) -> tuple[str, int, str]:
    """Season label, start year and season type from an NBA game id.

    ``22200001`` -> ``("2022-23", 2022, "Regular Season")``; the first digit is 2 for the
    regular season and 4 for the playoffs, the next two the season's starting year.
    """
    digits = f"{int(game_id):08d}"[-8:]
    kind, yy = digits[0], int(digits[1:3])
    start = 1900 + yy if yy >= 46 else 2000 + yy
    season_type = {"2": "Regular Season", "4": "Playoffs", "5": "Playoffs"}.get(kind, "Other")
    return f"{start}-{(start + 1) % 100:02d}", start, season_type


# --- teams ------------------------------------------------------------------------------------
# NBA stats team ids and every abbreviation each franchise used from 1996-97 to 2022-23
# (plus the common variants other feeds print). Checked against the shared data: with it
# every shot resolves to exactly one of its game's home or away team.
TEAM_ABBREVIATIONS: Final[dict[int, tuple[str, ...]]] = {
    1610612737: ("ATL",),
    1610612738: ("BOS",),
    1610612739: ("CLE",),
    1610612740: ("NOH", "NOK", "NOP", "NO"),
    1610612741: ("CHI",),
    1610612742: ("DAL",),
    1610612743: ("DEN",),
    1610612744: ("GSW", "GS"),
    1610612745: ("HOU",),
    1610612746: ("LAC",),
    1610612747: ("LAL",),
    1610612748: ("MIA",),
    1610612749: ("MIL",),
    1610612750: ("MIN",),
    1610612751: ("NJN", "BKN", "BRK", "NJ"),
    1610612752: ("NYK", "NY"),
    1610612753: ("ORL",),
    1610612754: ("IND",),
    1610612755: ("PHI",),
    1610612756: ("PHX", "PHO"),
    1610612757: ("POR",),
    1610612758: ("SAC",),
    1610612759: ("SAS", "SA"),
    1610612760: ("SEA", "OKC"),
    1610612761: ("TOR",),
    1610612762: ("UTA", "UTAH"),
    1610612763: ("VAN", "MEM"),
    1610612764: ("WAS",),
    1610612765: ("DET",),
    # The 1996-2002 Charlotte Hornets' history belongs to today's Charlotte franchise.
    1610612766: ("CHH", "CHA", "CHO"),
}
TEAM_ID_BY_ABBREVIATION: Final = {
    abbreviation: team_id
    for team_id, abbreviations in TEAM_ABBREVIATIONS.items()
    for abbreviation in abbreviations
}
