"""Fixtures of the monitoring tests: the repository and the real tools for the
configuration tests, and synthetic shots for drift, live quality and the report.

The tools come from Debian (`make test-deps`). Where one is missing the test is skipped on
a developer's machine, and the run's summary says so, but fails under CI (CI=true), so a
green CI run always means the configuration was checked by the real tools.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.prerequisites import require

REPO = Path(__file__).resolve().parents[2]

ShotFactory = Callable[..., pd.DataFrame]


def require_tool(name: str) -> str:
    """The tool's path; skip (locally) or fail (under CI) when it is not installed."""
    return require(name)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def promtool() -> str:
    return require_tool("promtool")


@pytest.fixture(scope="session")
def amtool() -> str:
    return require_tool("amtool")


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    return require_tool("prometheus")


@pytest.fixture(scope="session")
def alertmanager_binary() -> str:
    # Debian names the server prometheus-alertmanager; upstream builds call it alertmanager.
    if shutil.which("prometheus-alertmanager") is None and shutil.which("alertmanager"):
        return require_tool("alertmanager")
    return require_tool("prometheus-alertmanager")


# --- shots: plausible places, actions, periods and players ------------------------------------
ACTIONS = ["Jump Shot", "Layup Shot", "Driving Layup Shot", "Pullup Jump shot", "Dunk Shot"]
ACTION_SHARES = [0.45, 0.2, 0.15, 0.12, 0.08]


def _make_shots(n: int, seed: int) -> pd.DataFrame:
    """Shots in canonical columns with a plausible spread of places, actions and players."""
    rng = np.random.default_rng(seed)
    distance = np.where(rng.random(n) < 0.35, rng.uniform(0, 4, n), rng.uniform(4, 27, n))
    angle = rng.uniform(0.05, np.pi - 0.05, n)
    loc_x = np.round(distance * 10 * np.cos(angle))
    loc_y = np.round(distance * 10 * np.sin(angle))
    players = rng.zipf(1.3, n) % 400 + 1000
    return pd.DataFrame(
        {
            "loc_x": loc_x.astype(int),
            "loc_y": loc_y.astype(int),
            "shot_distance": np.round(distance).astype(int),
            "action_type": rng.choice(ACTIONS, size=n, p=ACTION_SHARES),
            "period": rng.choice([1, 2, 3, 4, 5], size=n, p=[0.25, 0.25, 0.24, 0.24, 0.02]),
            "minutes_remaining": rng.integers(0, 12, n),
            "seconds_remaining": rng.integers(0, 60, n),
            "player_id": players,
        }
    )


@pytest.fixture(scope="session")
def make_shots() -> ShotFactory:
    """``make_shots(n, seed)``: n shots in canonical columns, the same for the same seed."""
    return _make_shots
