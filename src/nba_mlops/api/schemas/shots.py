"""A shot to score: the raw canonical fields, or the original project's 39-field payload.

``POST /predict`` accepts both shapes; a body carrying ``X_Location`` or ``Y_Location`` is
read as the original engineered payload and mapped onto the raw fields (see docs/api.md).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
)

from nba_mlops.api.schemas.common import ShortText
from nba_mlops.data.schema import ALLOWED_VALUES, INPUT_DEFAULTS

# The accepted values of the categorical fields are the shot schema's
# (``data.schema.SHOT_FIELDS``), as literals: the OpenAPI schema lists each value.
if TYPE_CHECKING:
    ShotTypeName = str
    ZoneBasic = str
    ZoneArea = str
    ZoneRange = str
    SeasonTypeName = str
else:
    ShotTypeName = Literal[ALLOWED_VALUES["shot_type"]]
    ZoneBasic = Literal[ALLOWED_VALUES["shot_zone_basic"]]
    ZoneArea = Literal[ALLOWED_VALUES["shot_zone_area"]]
    ZoneRange = Literal[ALLOWED_VALUES["shot_zone_range"]]
    SeasonTypeName = Literal[ALLOWED_VALUES["season_type"]]


_T = TypeVar("_T")


def _default(name: str, kind: type[_T]) -> _T:
    """The schema's default of a field, checked to be of the field's type."""
    value = INPUT_DEFAULTS[name]
    if not isinstance(value, kind):
        raise TypeError(f"the default of {name} is not a {kind.__name__}: {value!r}")
    return value


NBA_ID = Field(default=None, ge=0, le=9_999_999_999)
EARLIEST_GAME = dt.date(1946, 11, 1)
LATEST_GAME = dt.date(2100, 12, 31)

RAW_EXAMPLE: Final[dict[str, Any]] = {
    "loc_x": -120,
    "loc_y": 150,
    "period": 4,
    "minutes_remaining": 1,
    "seconds_remaining": 30,
    "action_type": "Jump Shot",
    "player_name": "Stephen Curry",
    "player_id": 201939,
    "is_home": True,
    "season_type": "Regular Season",
    "game_date": "2023-03-01",
}


class RawShot(BaseModel):
    """A shot in the canonical fields; everything but the location has a default.

    Coordinates are in tenths of feet with the basket at (0, 0): ``loc_x`` runs from the
    left sideline (-250) to the right one (250), ``loc_y`` from behind the baseline (-60)
    towards the far end (900, beyond half court at 422.5). Shot type and zones left out
    are derived from the location; the season from ``game_date`` (today when absent).
    With ``player_id`` the shooter's skill and form as of the last ingest are looked up;
    with the teams and home/away, the opponent's defence; with ``game_id``, the game so
    far (docs/api.md says what each field adds).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [RAW_EXAMPLE]})

    loc_x: float = Field(ge=-250, le=250, allow_inf_nan=False, description="Tenths of feet")
    loc_y: float = Field(ge=-60, le=900, allow_inf_nan=False, description="Tenths of feet")
    period: int = Field(
        default=_default("period", int), ge=1, le=8, description="1-4, then overtimes 5-8"
    )
    minutes_remaining: int = Field(default=_default("minutes_remaining", int), ge=0, le=12)
    seconds_remaining: int = Field(default=_default("seconds_remaining", int), ge=0, le=59)
    action_type: ShortText = Field(default=_default("action_type", str), min_length=1)
    shot_type: ShotTypeName | None = None
    shot_zone_basic: ZoneBasic | None = None
    shot_zone_area: ZoneArea | None = None
    shot_zone_range: ZoneRange | None = None
    game_id: int | None = Field(
        default=None,
        ge=0,
        le=99_999_999,
        description="The NBA's game id (e.g. 22300061): with the game's earlier shots "
        "ingested, the game so far becomes context",
    )
    game_event_id: int | None = Field(
        default=None,
        ge=0,
        le=999_999,
        description="The shot's play-by-play event id in its game (Game Event ID)",
    )
    player_id: int | None = NBA_ID
    player_name: ShortText | None = None
    team_id: int | None = NBA_ID
    team_name: ShortText | None = None
    home_team: ShortText | None = None
    away_team: ShortText | None = None
    is_home: bool | None = None
    season_type: SeasonTypeName = Field(default=_default("season_type", str))
    game_date: dt.date | None = Field(default=None, ge=EARLIEST_GAME, le=LATEST_GAME)

    def to_record(self) -> dict[str, Any]:
        """The canonical record the model frame is built from and the database stores."""
        record = self.model_dump(exclude_none=True)
        if self.game_date is not None:
            record["game_date"] = self.game_date.isoformat()
        return record


OneHot = Literal[0, 1]
Frequency = Annotated[float | None, Field(default=None, ge=0, le=1e9, allow_inf_nan=False)]

# Original one-hot column -> (canonical field, value)
ONE_HOT_FIELDS: Final[dict[str, tuple[str, str]]] = {
    "ShotType_2PT_Field_Goal": ("shot_type", "2PT Field Goal"),
    "ShotType_3PT_Field_Goal": ("shot_type", "3PT Field Goal"),
    "ShotZoneBasic_Above_the_Break_3": ("shot_zone_basic", "Above the Break 3"),
    "ShotZoneBasic_Backcourt": ("shot_zone_basic", "Backcourt"),
    "ShotZoneBasic_In_The_Paint_Non_RA": ("shot_zone_basic", "In The Paint (Non-RA)"),
    "ShotZoneBasic_Left_Corner_3": ("shot_zone_basic", "Left Corner 3"),
    "ShotZoneBasic_Mid_Range": ("shot_zone_basic", "Mid-Range"),
    "ShotZoneBasic_Restricted_Area": ("shot_zone_basic", "Restricted Area"),
    "ShotZoneBasic_Right_Corner_3": ("shot_zone_basic", "Right Corner 3"),
    "ShotZoneArea_Back_Court_BC": ("shot_zone_area", "Back Court(BC)"),
    "ShotZoneArea_Center_C": ("shot_zone_area", "Center(C)"),
    "ShotZoneArea_Left_Side_Center_LC": ("shot_zone_area", "Left Side Center(LC)"),
    "ShotZoneArea_Left_Side_L": ("shot_zone_area", "Left Side(L)"),
    "ShotZoneArea_Right_Side_Center_RC": ("shot_zone_area", "Right Side Center(RC)"),
    "ShotZoneArea_Right_Side_R": ("shot_zone_area", "Right Side(R)"),
    "ShotZoneRange_16_24_ft": ("shot_zone_range", "16-24 ft."),
    "ShotZoneRange_24_ft": ("shot_zone_range", "24+ ft."),
    "ShotZoneRange_8_16_ft": ("shot_zone_range", "8-16 ft."),
    "ShotZoneRange_Back_Court_Shot": ("shot_zone_range", "Back Court Shot"),
    "ShotZoneRange_Less_Than_8_ft": ("shot_zone_range", "Less Than 8 ft."),
    "SeasonType_Playoffs": ("season_type", "Playoffs"),
    "SeasonType_Regular_Season": ("season_type", "Regular Season"),
}
ORIGINAL_MARKERS: Final = frozenset({"X_Location", "Y_Location"})

ORIGINAL_EXAMPLE: Final[dict[str, Any]] = {
    "Period": 1,
    "Minutes_Remaining": 10,
    "Seconds_Remaining": 30,
    "Shot_Distance": 15,
    "X_Location": 5,
    "Y_Location": 10,
    "Action_Type_Frequency": 0.2,
    "Team_Name_Frequency": 0.5,
    "Home_Team_Frequency": 0.4,
    "Away_Team_Frequency": 0.6,
    **{name: 0 for name in ONE_HOT_FIELDS},
    "ShotType_2PT_Field_Goal": 1,
    "ShotZoneBasic_Restricted_Area": 1,
    "ShotZoneArea_Center_C": 1,
    "ShotZoneRange_Less_Than_8_ft": 1,
    "SeasonType_Regular_Season": 1,
    "Game_ID_Frequency": 0.8,
    "Game_Event_ID_Frequency": 0.7,
    "Player_ID_Frequency": 0.9,
    "Year": 2022,
    "Month": 6,
    "Day": 11,
    "Day_of_Week": 5,
}


class OriginalShot(BaseModel):
    """The original project's engineered 39-field payload, accepted for compatibility.

    Frequency encodings carry no recoverable identity and are ignored; a one-hot group
    maps to its category when exactly one of its columns is 1, else the field is derived
    from the location. ``Shot_Distance`` and ``Day_of_Week`` follow from the location and
    the date.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ORIGINAL_EXAMPLE]})

    X_Location: float = Field(ge=-250, le=250, allow_inf_nan=False)
    Y_Location: float = Field(ge=-60, le=900, allow_inf_nan=False)
    Period: int = Field(default=1, ge=1, le=8)
    Minutes_Remaining: int = Field(default=6, ge=0, le=12)
    Seconds_Remaining: int = Field(default=0, ge=0, le=59)
    Shot_Distance: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    Action_Type_Frequency: Frequency = None
    Team_Name_Frequency: Frequency = None
    Home_Team_Frequency: Frequency = None
    Away_Team_Frequency: Frequency = None
    Game_ID_Frequency: Frequency = None
    Game_Event_ID_Frequency: Frequency = None
    Player_ID_Frequency: Frequency = None
    ShotType_2PT_Field_Goal: OneHot = 0
    ShotType_3PT_Field_Goal: OneHot = 0
    ShotZoneBasic_Above_the_Break_3: OneHot = 0
    ShotZoneBasic_Backcourt: OneHot = 0
    ShotZoneBasic_In_The_Paint_Non_RA: OneHot = 0
    ShotZoneBasic_Left_Corner_3: OneHot = 0
    ShotZoneBasic_Mid_Range: OneHot = 0
    ShotZoneBasic_Restricted_Area: OneHot = 0
    ShotZoneBasic_Right_Corner_3: OneHot = 0
    ShotZoneArea_Back_Court_BC: OneHot = 0
    ShotZoneArea_Center_C: OneHot = 0
    ShotZoneArea_Left_Side_Center_LC: OneHot = 0
    ShotZoneArea_Left_Side_L: OneHot = 0
    ShotZoneArea_Right_Side_Center_RC: OneHot = 0
    ShotZoneArea_Right_Side_R: OneHot = 0
    ShotZoneRange_16_24_ft: OneHot = 0
    ShotZoneRange_24_ft: OneHot = 0
    ShotZoneRange_8_16_ft: OneHot = 0
    ShotZoneRange_Back_Court_Shot: OneHot = 0
    ShotZoneRange_Less_Than_8_ft: OneHot = 0
    SeasonType_Playoffs: OneHot = 0
    SeasonType_Regular_Season: OneHot = 0
    Year: int | None = Field(default=None, ge=EARLIEST_GAME.year, le=LATEST_GAME.year)
    Month: int | None = Field(default=None, ge=1, le=12)
    Day: int | None = Field(default=None, ge=1, le=31)
    Day_of_Week: int | None = Field(default=None, ge=0, le=6)

    @field_validator("Day")
    @classmethod
    def _real_date(cls, day: int | None, info: ValidationInfo) -> int | None:
        year, month = info.data.get("Year"), info.data.get("Month")
        if day is not None and year is not None and month is not None:
            try:
                dt.date(year, month, day)
            except ValueError as exc:
                raise ValueError(
                    f"{year}-{month:02d}-{day:02d} is not a real date ({exc})"
                ) from None
        return day

    def to_raw(self) -> RawShot:
        fields: dict[str, Any] = {
            "loc_x": self.X_Location,
            "loc_y": self.Y_Location,
            "period": self.Period,
            "minutes_remaining": self.Minutes_Remaining,
            "seconds_remaining": self.Seconds_Remaining,
        }
        chosen: dict[str, list[str]] = {}
        for column, (field, value) in ONE_HOT_FIELDS.items():
            if getattr(self, column) == 1:
                chosen.setdefault(field, []).append(value)
        for field, values in chosen.items():
            if len(values) == 1:  # contradictory one-hots: derive from the location instead
                fields[field] = values[0]
        if self.Year is not None and self.Month is not None and self.Day is not None:
            fields["game_date"] = dt.date(self.Year, self.Month, self.Day)
        return RawShot.model_validate(fields)

    def to_record(self) -> dict[str, Any]:
        return self.to_raw().to_record()


def _shape(value: Any) -> str | None:
    if isinstance(value, dict):
        return "original" if ORIGINAL_MARKERS & value.keys() else "raw"
    if isinstance(value, OriginalShot):
        return "original"
    if isinstance(value, RawShot):
        return "raw"
    return None


ShotPayload = Annotated[
    Annotated[RawShot, Tag("raw")] | Annotated[OriginalShot, Tag("original")],
    Discriminator(
        _shape,
        custom_error_type="shot_shape",
        custom_error_message="A shot must be a JSON object (raw fields or the original payload)",
    ),
]
SHAPE_TAGS: Final = frozenset({"raw", "original"})


class ShotBatch(BaseModel):
    """Up to 1,000 shots, each in either shape, scored in one request."""

    model_config = ConfigDict(extra="forbid")

    shots: list[ShotPayload] = Field(min_length=1, max_length=1000)
    purpose: Literal["shot", "grid"] = Field(
        "shot",
        description=(
            "`shot` (default): real shots; they can be verified and count towards live "
            "accuracy and drift. `grid`: cells of a floor map (the court page's heat map); "
            "stored, but kept out of history, verification and drift."
        ),
    )


class ServiceScoreRequest(BaseModel):
    """Body of the prediction service's ``POST /predict``: raw records only."""

    model_config = ConfigDict(extra="forbid")

    records: list[RawShot] = Field(min_length=1, max_length=10_000)
