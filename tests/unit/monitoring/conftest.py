"""Shots for the monitoring tests: plausible places, actions, periods and players."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

ShotFactory = Callable[..., pd.DataFrame]

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
