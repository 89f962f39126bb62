"""Fixtures for the monitoring configuration tests: the repository and the real tools.

The tools come from Debian (`make test-deps`). Where one is missing the test is skipped on
a developer's machine, and the run's summary says so, but fails under CI (CI=true), so a
green CI run always means the configuration was checked by the real tools.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.prerequisites import require

REPO = Path(__file__).resolve().parents[2]


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
