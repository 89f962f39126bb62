"""The loop closed: the API serves a champion, requests drift, the monitoring sensor asks
for a retrain, the retrain promotes a better model, and the running API serves it without
a restart (its predictor polls the ``champion`` alias)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import httpx
import pytest
import uvicorn

from nba_mlops.api.app import create_app
from nba_mlops.config import ServingSettings, Settings
from nba_mlops.db import migrate
from nba_mlops.orchestration.jobs import TRIGGER_TAG
from tests.support.orchestration import (
    champion_of,
    definitions_for,
    install_weak_champion,
    quick_training,
    shots_from,
    store_predictions,
)

pytestmark = pytest.mark.slow


@contextmanager
def serving(settings: Settings) -> Iterator[httpx.Client]:
    """``create_app(settings)`` under uvicorn in a thread of this process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", loop="asyncio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_a_drift_triggered_retrain_reaches_the_running_api(
    fresh_trained_settings: Settings, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance
) -> None:
    quick_training(monkeypatch)
    settings = fresh_trained_settings
    weak = install_weak_champion(settings)
    served = Settings(
        home=settings.home,
        serving=ServingSettings(reload_interval_s=0.2, refresh_interval_s=0.0),
    )
    migrate.upgrade(served)

    with serving(served) as api:
        assert api.get("/models/current").json()["version"] == str(weak)

        store_predictions(settings, shots_from(30, 600), version=weak)
        definitions = definitions_for(settings)
        sensor = definitions.resolve_sensor_def("retrain_on_monitoring_sensor")
        tick = sensor.evaluate_tick(
            dg.build_sensor_context(
                instance=instance,
                definitions=definitions,
                resources=dict(definitions.resources or {}),
            )
        )
        (request,) = tick.run_requests or []
        assert request.tags[TRIGGER_TAG] == "drift"

        job = definitions.resolve_job_def(request.job_name or sensor.job_name)
        run = job.execute_in_process(instance=instance, tags=request.tags)
        assert run.success
        promoted = champion_of(settings)
        assert promoted is not None and promoted != weak

        deadline = time.monotonic() + 60
        current = api.get("/models/current").json()
        while current["version"] != str(promoted) and time.monotonic() < deadline:
            time.sleep(0.2)
            current = api.get("/models/current").json()
        assert current["version"] == str(promoted), "the API did not pick up the new champion"
        assert current["metrics"]["holdout_log_loss"] > 0
        assert api.get("/ready").status_code == 200
