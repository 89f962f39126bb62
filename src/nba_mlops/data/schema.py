"""The canonical shot schema and the mapping from each supported source layout onto it.

Every stage after ingestion speaks only these snake_case column names. Two source
layouts are recognised: the Kaggle "NBA Shot Locations" layout (``Game ID, Game Event
ID, ...``) and the NBA stats ``shotchartdetail`` layout (``game_id, game_event_id, ...,
loc_x, loc_y, htm, vtm``), in any letter case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

# --- the shot fields ---------------------------------------------------------------------------
# One entry per canonical field, in store order. Every list of shot columns elsewhere (the
# store's columns and dtypes, what a source file must carry, what training reads, the
# model's raw inputs, their defaults and categories, which of them the model may go
# without, the API's accepted values) is derived from ``SHOT_FIELDS``: adding a field is
# adding its entry here (see docs/CONTRACTS.md, "Adding a shot field").

#: What a field is for.
#: ``key``: identifies the shot (game id, event id);
#: ``input``: a raw input of the model (``features.columns.RAW_INPUT_COLUMNS``);
#: ``target``: the outcome the model learns;
#: ``info``: read by training for the shot history and the players list, not a model input;
#: ``stored``: kept in the store only (training does not read it).
Role = Literal["key", "input", "target", "info", "stored"]


@dataclass(frozen=True)
class ShotField:
    """One canonical shot field."""

    name: str
    #: pandas dtype in the store and every stage after ingestion.
    dtype: str
    role: Role
    #: A source file must carry it to be a shot file at all (everything else is repaired
    #: or derived when missing).
    source_required: bool = False
    #: (inputs) The model takes it missing: derived from the location or unknown; its
    #: column in the registered model's signature is not required.
    optional: bool = False
    #: (inputs) The value a caller who leaves it out gets.
    default: int | str | None = None
    #: The values it may take, for a categorical field (the API accepts exactly these).
    allowed: tuple[str, ...] | None = None
    #: (inputs) Its place among the model's raw inputs, the order models have always
    #: taken them in: a new input takes the next number.
    input_position: int | None = None
    #: Its name in the Kaggle and in the NBA stats ``shotchartdetail`` layouts; None when
    #: the layout lacks it (it is repaired or derived at ingestion).
    kaggle: str | None = None
    shotchartdetail: str | None = None

    @property
    def numeric(self) -> bool:
        """Whether the model reads it as a number (text and dates are not)."""
        return self.dtype != "str" and not self.dtype.startswith("datetime")


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

_F = ShotField
SHOT_FIELDS: Final[tuple[ShotField, ...]] = (
    _F("game_id", "int64", "key", source_required=True,
       kaggle="Game ID", shotchartdetail="game_id"),
    _F("game_event_id", "int64", "key", source_required=True,
       kaggle="Game Event ID", shotchartdetail="game_event_id"),
    # Used only to look up the shooter's skill; never a feature itself.
    _F("player_id", "int64", "input", source_required=True, optional=True, input_position=10,
       kaggle="Player ID", shotchartdetail="player_id"),
    _F("player_name", "str", "info", kaggle="Player Name", shotchartdetail="player_name"),
    # May be missing in the store.
    _F("team_id", "Int64", "info", kaggle="Team ID", shotchartdetail="team_id"),
    _F("team_name", "str", "info", kaggle="Team Name", shotchartdetail="team_name"),
    _F("period", "int64", "input", source_required=True, default=1, input_position=2,
       kaggle="Period", shotchartdetail="period"),
    _F("minutes_remaining", "int64", "input", source_required=True, default=6,
       input_position=3, kaggle="Minutes Remaining", shotchartdetail="minutes_remaining"),
    _F("seconds_remaining", "int64", "input", source_required=True, default=0,
       input_position=4, kaggle="Seconds Remaining", shotchartdetail="seconds_remaining"),
    _F("action_type", "str", "input", source_required=True, default="Jump Shot",
       input_position=5, kaggle="Action Type", shotchartdetail="action_type"),
    _F("shot_type", "str", "input", optional=True, allowed=SHOT_TYPES, input_position=6,
       kaggle="Shot Type", shotchartdetail="shot_type"),
    _F("shot_zone_basic", "str", "input", optional=True, allowed=SHOT_ZONE_BASIC,
       input_position=7, kaggle="Shot Zone Basic", shotchartdetail="shot_zone_basic"),
    _F("shot_zone_area", "str", "input", optional=True, allowed=SHOT_ZONE_AREA,
       input_position=8, kaggle="Shot Zone Area", shotchartdetail="shot_zone_area"),
    _F("shot_zone_range", "str", "input", optional=True, allowed=SHOT_ZONE_RANGE,
       input_position=9, kaggle="Shot Zone Range", shotchartdetail="shot_zone_range"),
    _F("shot_distance", "int64", "stored", kaggle="Shot Distance",
       shotchartdetail="shot_distance"),
    _F("loc_x", "int64", "input", source_required=True, input_position=0,
       kaggle="X Location", shotchartdetail="loc_x"),
    _F("loc_y", "int64", "input", source_required=True, input_position=1,
       kaggle="Y Location", shotchartdetail="loc_y"),
    _F("shot_made_flag", "int64", "target", source_required=True,
       kaggle="Shot Made Flag", shotchartdetail="shot_made_flag"),
    # May be missing in the store.
    _F("game_date", "datetime64[s]", "info", kaggle="Game Date", shotchartdetail="game_date"),
    _F("home_team", "str", "info", kaggle="Home Team", shotchartdetail="htm"),
    _F("away_team", "str", "info", kaggle="Away Team", shotchartdetail="vtm"),
    _F("season_type", "str", "input", default="Regular Season", allowed=SEASON_TYPES,
       input_position=12, kaggle="Season Type"),
    # Derived at ingestion from the game id.
    _F("season", "str", "stored"),
    _F("season_start_year", "int64", "input", input_position=13),
    # Derived at ingestion from the team id and the home/away abbreviations: 1 when the
    # shooter's team plays at home, 0 away, missing when unknown.
    _F("is_home", "Int8", "input", optional=True, input_position=11),
)  # fmt: skip
del _F


def _check(fields: tuple[ShotField, ...]) -> None:
    """Refuse a specification the derived lists could not agree with."""
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ValueError(f"shot fields named twice: {names}")
    inputs = [f for f in fields if f.role == "input"]
    positions = sorted(f.input_position for f in inputs if f.input_position is not None)
    if positions != list(range(len(inputs))):
        raise ValueError("each input needs its own input_position, 0 to n - 1")
    for f in fields:
        if f.role != "input" and (
            f.input_position is not None or f.optional or f.default is not None
        ):
            raise ValueError(f"{f.name}: only inputs have a position, a default or optionality")
        if f.allowed is not None and f.dtype != "str":
            raise ValueError(f"{f.name}: only text fields have allowed values")
        if f.allowed is not None and f.default is not None and f.default not in f.allowed:
            raise ValueError(f"{f.name}: the default {f.default!r} is not an allowed value")


_check(SHOT_FIELDS)
FIELDS_BY_NAME: Final = {f.name: f for f in SHOT_FIELDS}

# --- derived lists ------------------------------------------------------------------------------
GAME_ID: Final = "game_id"
GAME_EVENT_ID: Final = "game_event_id"
KEY_COLUMNS: Final = tuple(f.name for f in SHOT_FIELDS if f.role == "key")
TARGET: Final = "shot_made_flag"
IS_HOME: Final = "is_home"
assert KEY_COLUMNS == (GAME_ID, GAME_EVENT_ID) and FIELDS_BY_NAME[TARGET].role == "target"

#: Every stored column, in store order.
STORE_COLUMNS: Final = tuple(f.name for f in SHOT_FIELDS)
#: The store's columns but ``is_home`` (the columns the store began with).
CANONICAL_COLUMNS: Final = tuple(c for c in STORE_COLUMNS if c != IS_HOME)
#: pandas dtypes of the canonical frame (the store and every stage after ingestion).
#: Required integers are never missing; ``team_id``, ``game_date`` and ``is_home`` may be.
CANONICAL_DTYPES: Final = {f.name: f.dtype for f in SHOT_FIELDS}
#: Columns a source file must carry to be a shot file at all.
REQUIRED_COLUMNS: Final = tuple(f.name for f in SHOT_FIELDS if f.source_required)
#: What training reads from the store (in store order); names and teams only feed the
#: players list and the shot history.
TRAINING_COLUMNS: Final = tuple(f.name for f in SHOT_FIELDS if f.role != "stored")
#: The model's raw inputs, in the order models take them.
INPUT_FIELDS: Final = tuple(
    sorted(
        (f for f in SHOT_FIELDS if f.role == "input"),
        key=lambda f: f.input_position if f.input_position is not None else -1,
    )
)
INPUT_COLUMNS: Final = tuple(f.name for f in INPUT_FIELDS)
#: Inputs the model takes missing (not required by the registered model's signature).
OPTIONAL_INPUT_COLUMNS: Final = frozenset(f.name for f in INPUT_FIELDS if f.optional)
#: Inputs read as numbers (the rest are text).
NUMERIC_INPUT_COLUMNS: Final = frozenset(f.name for f in INPUT_FIELDS if f.numeric)
#: What a caller who leaves an input out gets, in store order.
INPUT_DEFAULTS: Final[dict[str, int | str]] = {
    f.name: f.default for f in SHOT_FIELDS if f.default is not None
}
#: The values of each categorical field.
ALLOWED_VALUES: Final[dict[str, tuple[str, ...]]] = {
    f.name: f.allowed for f in SHOT_FIELDS if f.allowed is not None
}

# --- source layouts -------------------------------------------------------------------------
KAGGLE_TO_CANONICAL: Final = {f.kaggle: f.name for f in SHOT_FIELDS if f.kaggle is not None}
SHOTCHARTDETAIL_TO_CANONICAL: Final = {
    f.shotchartdetail: f.name for f in SHOT_FIELDS if f.shotchartdetail is not None
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
