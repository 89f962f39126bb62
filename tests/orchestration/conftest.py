"""Fixtures of the orchestration tests: a temporary, persistent Dagster instance."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A Dagster instance with its own temporary storage (sensors and run records need one)."""
    with dg.instance_for_test() as test_instance:
        yield test_instance
