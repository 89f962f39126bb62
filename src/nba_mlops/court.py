"""Court geometry: distance, angle, shot value and the NBA stats shot zones of a location.

Coordinates are the shot-chart ones: tenths of a foot, basket at (0, 0), ``x`` across the
court (negative is the shooter's left as the NBA names zones), ``y`` towards half court.
Every function is vectorised over numpy arrays and also accepts plain floats.

The zone boundaries were calibrated on the 3.3 million real shots that carry NBA zone
labels (2004-05 to 2022-23); with these constants the derived basic zone, area and range
agree with the labels on every one of them. Where the stats definitions differ from the
painted lines they follow the labels, not the paint:

* the corner three zone ends at y = 87.5 (14 ft from the baseline, which is 5.25 ft behind
  the basket), while the scoring line's corner straight meets the arc at y = 89.47;
* the paint reaches y = 138.5 and the restricted area is strictly inside 4 ft;
* the ``Back Court`` area and range start at y = 397.5, the ``Backcourt`` basic zone
  at y = 419.5.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from nba_mlops.data.schema import SHOT_TYPES, SHOT_ZONE_AREA, SHOT_ZONE_BASIC, SHOT_ZONE_RANGE

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int8]
StrArray = npt.NDArray[np.object_]

THREE_POINT_RADIUS: Final = 237.5
CORNER_THREE_X: Final = 220.0
# Where the 22 ft corner straight meets the 23.75 ft arc: decides a shot's value.
CORNER_THREE_LINE_Y: Final = math.sqrt(THREE_POINT_RADIUS**2 - CORNER_THREE_X**2)
# Where the stats "Corner 3" zone ends: decides the zone.
CORNER_ZONE_Y: Final = 87.5
RESTRICTED_AREA_RADIUS: Final = 40.0
PAINT_HALF_WIDTH: Final = 80.0
PAINT_TOP_Y: Final = 138.5
SHORT_RANGE_RADIUS: Final = 80.0
MID_RANGE_RADIUS: Final = 160.0
BACK_COURT_AREA_Y: Final = 397.5
BACKCOURT_ZONE_Y: Final = 419.5
# Area sectors, in degrees either side of the line straight out from the basket.
CENTER_ANGLE_SHORT: Final = 30.0
CENTER_ANGLE_LONG: Final = 18.0
SIDE_CENTER_ANGLE_MID: Final = 54.0

_BASIC: Final = np.array(SHOT_ZONE_BASIC, dtype=object)
_AREA: Final = np.array(SHOT_ZONE_AREA, dtype=object)
_RANGE: Final = np.array(SHOT_ZONE_RANGE, dtype=object)
_SHOT_TYPE: Final = np.array(SHOT_TYPES, dtype=object)


class CourtZone(NamedTuple):
    """Everything the court says about one location."""

    shot_type: str
    shot_zone_basic: str
    shot_zone_area: str
    shot_zone_range: str
    distance_ft: float
    angle_deg: float


def _xy(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def distance_ft(x: npt.ArrayLike, y: npt.ArrayLike) -> FloatArray:
    """Distance from the basket in feet."""
    xs, ys = _xy(x, y)
    return np.hypot(xs, ys) / 10.0


def angle_deg(x: npt.ArrayLike, y: npt.ArrayLike) -> FloatArray:
    """Angle from the line straight out of the basket: 0 facing half court, +90 and -90
    along the baseline to the right (x > 0) and left, beyond 90 behind the basket."""
    xs, ys = _xy(x, y)
    return np.degrees(np.arctan2(xs, ys))


def _is_corner_zone(xs: FloatArray, ys: FloatArray) -> npt.NDArray[np.bool_]:
    return (np.abs(xs) >= CORNER_THREE_X) & (ys <= CORNER_ZONE_Y)


def shot_value(x: npt.ArrayLike, y: npt.ArrayLike) -> IntArray:
    """Points a made shot from here is worth: 3 beyond the line, else 2."""
    xs, ys = _xy(x, y)
    corner = (np.abs(xs) >= CORNER_THREE_X) & (ys <= CORNER_THREE_LINE_Y)
    three = corner | (np.hypot(xs, ys) >= THREE_POINT_RADIUS)
    return np.where(three, 3, 2).astype(np.int8)


def shot_type_codes(x: npt.ArrayLike, y: npt.ArrayLike) -> IntArray:
    """Index into ``schema.SHOT_TYPES`` of each location's shot type."""
    return (shot_value(x, y) - 2).astype(np.int8)


def shot_type(x: npt.ArrayLike, y: npt.ArrayLike) -> StrArray:
    """``"2PT Field Goal"`` or ``"3PT Field Goal"`` from the location alone."""
    return _SHOT_TYPE[shot_type_codes(x, y)]  # type: ignore[no-any-return]


def zone_basic_codes(x: npt.ArrayLike, y: npt.ArrayLike) -> IntArray:
    """Index into ``schema.SHOT_ZONE_BASIC`` of each location's basic zone."""
    xs, ys = _xy(x, y)
    dist = np.hypot(xs, ys)
    corner = _is_corner_zone(xs, ys)
    conditions = [
        ys >= BACKCOURT_ZONE_Y,
        corner & (xs < 0),
        corner,
        dist >= THREE_POINT_RADIUS,
        dist < RESTRICTED_AREA_RADIUS,
        (np.abs(xs) <= PAINT_HALF_WIDTH) & (ys <= PAINT_TOP_Y),
    ]
    # Codes follow SHOT_ZONE_BASIC: RA 0, paint 1, mid 2, LC3 3, RC3 4, ATB 5, backcourt 6.
    return np.select(conditions, [6, 3, 4, 5, 0, 1], default=2).astype(np.int8)


def zone_range_codes(x: npt.ArrayLike, y: npt.ArrayLike) -> IntArray:
    """Index into ``schema.SHOT_ZONE_RANGE`` of each location's range."""
    xs, ys = _xy(x, y)
    dist = np.hypot(xs, ys)
    three = _is_corner_zone(xs, ys) | (dist >= THREE_POINT_RADIUS)
    conditions = [ys >= BACK_COURT_AREA_Y, three, dist <= SHORT_RANGE_RADIUS]
    mid = np.where(dist <= MID_RANGE_RADIUS, 1, 2)
    return np.select(conditions, [4, 3, 0], default=mid).astype(np.int8)


def zone_area_codes(x: npt.ArrayLike, y: npt.ArrayLike) -> IntArray:
    """Index into ``schema.SHOT_ZONE_AREA`` of each location's area."""
    xs, ys = _xy(x, y)
    dist = np.hypot(xs, ys)
    off_center = np.abs(np.degrees(np.arctan2(xs, ys)))
    corner = _is_corner_zone(xs, ys)
    three = corner | (dist >= THREE_POINT_RADIUS)
    left = xs < 0
    side = np.where(left, 1, 2)  # Left Side(L) / Right Side(R)
    side_center = np.where(left, 3, 4)  # Left / Right Side Center
    conditions = [
        ys >= BACK_COURT_AREA_Y,
        corner,
        dist <= SHORT_RANGE_RADIUS,
        dist <= MID_RANGE_RADIUS,
        off_center < CENTER_ANGLE_LONG,
        three,
        off_center < SIDE_CENTER_ANGLE_MID,
    ]
    short_band = np.where(off_center < CENTER_ANGLE_SHORT, 0, side)
    choices: list[npt.ArrayLike] = [5, side, 0, short_band, 0, side_center, side_center]
    return np.select(conditions, choices, default=side).astype(np.int8)


def zone_basic(x: npt.ArrayLike, y: npt.ArrayLike) -> StrArray:
    """NBA stats ``SHOT_ZONE_BASIC`` of each location."""
    return _BASIC[zone_basic_codes(x, y)]  # type: ignore[no-any-return]


def zone_area(x: npt.ArrayLike, y: npt.ArrayLike) -> StrArray:
    """NBA stats ``SHOT_ZONE_AREA`` of each location."""
    return _AREA[zone_area_codes(x, y)]  # type: ignore[no-any-return]


def zone_range(x: npt.ArrayLike, y: npt.ArrayLike) -> StrArray:
    """NBA stats ``SHOT_ZONE_RANGE`` of each location."""
    return _RANGE[zone_range_codes(x, y)]  # type: ignore[no-any-return]


def zone_of_point(x: float, y: float) -> CourtZone:
    """Shot type, zones, distance and angle of a single location."""
    return CourtZone(
        shot_type=str(_SHOT_TYPE[int(shot_type_codes(x, y))]),
        shot_zone_basic=str(_BASIC[int(zone_basic_codes(x, y))]),
        shot_zone_area=str(_AREA[int(zone_area_codes(x, y))]),
        shot_zone_range=str(_RANGE[int(zone_range_codes(x, y))]),
        distance_ft=float(distance_ft(x, y)),
        angle_deg=float(angle_deg(x, y)),
    )


def shot_value_of_point(x: float, y: float) -> int:
    """Points a made shot from this one location is worth (2 or 3)."""
    return int(shot_value(x, y))
