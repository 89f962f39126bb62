"""Court geometry: distances, shot value and the NBA stats zones at known spots."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nba_mlops import court
from nba_mlops.data.schema import SHOT_ZONE_AREA, SHOT_ZONE_BASIC, SHOT_ZONE_RANGE


def test_distance_and_angle_are_in_feet_and_degrees() -> None:
    assert court.distance_ft(30, 40) == pytest.approx(5.0)
    assert court.angle_deg(0, 100) == pytest.approx(0.0)
    assert court.angle_deg(100, 0) == pytest.approx(90.0)
    assert court.angle_deg(-100, 0) == pytest.approx(-90.0)
    np.testing.assert_allclose(court.distance_ft([0, 237.5], [0, 0]), [0.0, 23.75])


@pytest.mark.parametrize(
    ("x", "y", "value"),
    [
        (0, 0, 2),
        (0, 237, 2),
        (0, 238, 3),  # beyond the 23.75 ft arc
        (-220, 0, 3),  # corner: 22 ft is enough
        (219, 0, 2),
        (220, 89, 3),  # the corner straight runs up to where it meets the arc (y 89.47)
        (219, 89, 2),  # inside both the corner straight and the arc
        (0, 600, 3),
    ],
)
def test_shot_value(x: float, y: float, value: int) -> None:
    assert court.shot_value_of_point(x, y) == value
    assert int(court.shot_value(x, y)) == value


@pytest.mark.parametrize(
    ("x", "y", "basic", "area", "range_"),
    [
        (0, 0, "Restricted Area", "Center(C)", "Less Than 8 ft."),
        (0, 40, "In The Paint (Non-RA)", "Center(C)", "Less Than 8 ft."),
        (-70, 100, "In The Paint (Non-RA)", "Left Side(L)", "8-16 ft."),
        (0, 138, "In The Paint (Non-RA)", "Center(C)", "8-16 ft."),
        (0, 139, "Mid-Range", "Center(C)", "8-16 ft."),
        (120, 120, "Mid-Range", "Right Side Center(RC)", "16-24 ft."),
        (-200, 0, "Mid-Range", "Left Side(L)", "16-24 ft."),
        (-230, 0, "Left Corner 3", "Left Side(L)", "24+ ft."),
        (230, 87, "Right Corner 3", "Right Side(R)", "24+ ft."),
        (230, 88, "Above the Break 3", "Right Side Center(RC)", "24+ ft."),
        (220, 88, "Mid-Range", "Right Side(R)", "16-24 ft."),  # as the NBA labels it
        (0, 260, "Above the Break 3", "Center(C)", "24+ ft."),
        (0, 400, "Above the Break 3", "Back Court(BC)", "Back Court Shot"),
        (10, 500, "Backcourt", "Back Court(BC)", "Back Court Shot"),
    ],
)
def test_zones_at_known_spots(x: float, y: float, basic: str, area: str, range_: str) -> None:
    zone = court.zone_of_point(x, y)
    assert (zone.shot_zone_basic, zone.shot_zone_area, zone.shot_zone_range) == (
        basic,
        area,
        range_,
    )


def test_vectorised_zones_use_the_schema_categories() -> None:
    rng = np.random.default_rng(7)
    x = rng.integers(-250, 251, 5_000)
    y = rng.integers(-52, 900, 5_000)
    assert set(court.zone_basic(x, y)) <= set(SHOT_ZONE_BASIC)
    assert set(court.zone_area(x, y)) <= set(SHOT_ZONE_AREA)
    assert set(court.zone_range(x, y)) <= set(SHOT_ZONE_RANGE)
    # Threes and the 3-point zones agree except on the sliver the NBA calls mid-range.
    three_zone = np.isin(
        court.zone_basic(x, y), ["Left Corner 3", "Right Corner 3", "Above the Break 3"]
    )
    assert np.all(court.shot_value(x, y)[three_zone] == 3)


def test_zone_of_point_accepts_floats_and_is_consistent() -> None:
    zone = court.zone_of_point(-100.5, 150.25)
    assert zone.distance_ft == pytest.approx(math.hypot(100.5, 150.25) / 10)
    assert zone.shot_type == "2PT Field Goal"
    assert zone.shot_zone_basic == str(court.zone_basic(-100.5, 150.25))
