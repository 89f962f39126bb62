"""A champion trained once per test session on the bundled real sample."""

from __future__ import annotations

from typing import Any

import pytest

from nba_mlops.config import Settings
from nba_mlops.registry import Registry


@pytest.fixture(scope="session")
def champion_model(trained_settings: Settings) -> Any:
    model, _ = Registry(trained_settings).load_model()
    return model
