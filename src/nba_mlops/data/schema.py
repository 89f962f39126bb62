"""The canonical shot schema and the mapping from each supported source layout onto it.

Every stage after ingestion speaks only these snake_case column names. Two source
layouts are recognised: the Kaggle "NBA Shot Locations" layout (``Game ID, Game Event
ID, ...``) and the NBA stats ``shotchartdetail`` layout (``game_id, game_event_id, ...,
loc_x, loc_y, htm, vtm``), in any letter case.
"""

from __future__ import annotations

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


def detect_layout(columns: list[str]) -> tuple[str, dict[str, str]] | None:
    """Name the source layout of a header and return its mapping onto canonical names.

    Matching ignores case and surrounding spaces. Returns ``None`` when the header is
    neither layout (the caller then reports the missing required columns).
    """
    normalised = {c.strip().lower(): c for c in columns}
    for name, mapping in (
        ("kaggle", KAGGLE_TO_CANONICAL),
        ("shotchartdetail", SHOTCHARTDETAIL_TO_CANONICAL),
    ):
        found = {normalised[k.lower()]: v for k, v in mapping.items() if k.lower() in normalised}
        if set(REQUIRED_COLUMNS) <= set(found.values()):
            return name, found
    return None


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
