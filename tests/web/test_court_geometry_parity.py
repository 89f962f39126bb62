"""The page's court geometry (web/src/court/geometry.ts) labels locations as the server does.

The server derives shot type and zones for the model from the raw location; the page shows
its own derivation next to each probability. This test writes the server's labels for a
dense grid over the half court (plus the boundary lines) to JSON and has Vitest check the
TypeScript module against it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.prerequisites import missing, require

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"


def _locations() -> list[tuple[float, float]]:
    grid = [(float(x), float(y)) for x in range(-250, 251, 5) for y in range(-47, 423, 5)]
    # The boundaries, where "<" versus "<=" matters.
    edges = [
        (220.0, 87.5),
        (220.0, 88.0),
        (-220.0, 89.0),
        (-220.0, 89.5),
        (219.9, 0.0),
        (0.0, 237.5),
        (0.0, 237.4),
        (80.0, 138.5),
        (80.5, 100.0),
        (0.0, 138.5),
        (0.0, 139.0),
        (0.0, 40.0),
        (0.0, 39.9),
        (0.0, 80.0),
        (0.0, 160.0),
        (0.0, 397.5),
        (0.0, 419.5),
        (-56.6, 56.6),
        (-93.0, 160.0),
        (-139.0, 190.0),
    ]
    return grid + edges


def test_web_geometry_matches_server_court(tmp_path: Path) -> None:
    court = pytest.importorskip("nba_mlops.court")
    npx = require("npx")
    if not (WEB / "node_modules").is_dir():
        missing("web/node_modules", "run `make deps`")
    rows = []
    for x, y in _locations():
        zone = court.zone_of_point(x, y)
        rows.append(
            {
                "x": x,
                "y": y,
                "value": court.shot_value_of_point(x, y),
                "shot_type": zone.shot_type,
                "shot_zone_basic": zone.shot_zone_basic,
                "shot_zone_area": zone.shot_zone_area,
                "shot_zone_range": zone.shot_zone_range,
            }
        )
    labels = tmp_path / "server-court-labels.json"
    labels.write_text(json.dumps(rows))
    result = subprocess.run(
        [npx, "vitest", "run", "src/court/parity.test.ts"],
        cwd=WEB,
        env={**os.environ, "COURT_PARITY_FILE": str(labels), "CI": "1"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout, result.stdout[-2000:]
