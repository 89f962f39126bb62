"""Fixtures of the orchestration tests: a temporary, persistent Dagster instance, and
each test's settings pointing at its own MLflow store."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest


@pytest.fixture(autouse=True)
def _own_mlflow_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """``mlflow.set_tracking_uri`` exports ``MLFLOW_TRACKING_URI``, which ``Settings`` reads:
    without this, a home built after another test's training would use that test's store.
    Autouse fixtures run first, so ``fresh_trained_settings`` sees the variables unset."""
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A Dagster instance with its own temporary storage (sensors and run records need one)."""
    with dg.instance_for_test() as test_instance:
        yield test_instance
