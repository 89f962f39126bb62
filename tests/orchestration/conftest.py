"""Fixtures of the orchestration tests: a temporary, persistent Dagster instance, and
each test's settings pointing at its own MLflow store."""

from __future__ import annotations

import os
from collections.abc import Iterator

import dagster as dg
import pytest

_MLFLOW_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@pytest.fixture(autouse=True)
def _own_mlflow_store() -> Iterator[None]:
    """``mlflow.set_tracking_uri`` exports ``MLFLOW_TRACKING_URI``, which ``Settings`` reads:
    a home built after another home's training would use that other store. Unset during
    the test (autouse fixtures run before ``fresh_trained_settings`` builds its settings)
    and put back as it was afterwards, so no test leaves its store to the next."""
    saved = {name: os.environ.pop(name, None) for name in _MLFLOW_VARIABLES}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A Dagster instance with its own temporary storage (sensors and run records need one)."""
    with dg.instance_for_test() as test_instance:
        yield test_instance
