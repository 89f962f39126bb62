"""Alerts end to end on loopback: real Prometheus, real Alertmanager, the real API.

The API test starts ``nba-mlops serve`` on a free port with a temporary home, watches
Prometheus scrape it, stops it, and waits for ApiDown to fire in Prometheus and reach
Alertmanager, then starts it again and waits for the alert to resolve. The other tests
exercise the same Prometheus-to-Alertmanager path and the repository's inhibit rules
without the API. Each is bounded well under 90 seconds.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.monitoring_stack import (
    Alertmanager,
    Process,
    free_port,
    http_ok,
    monitoring_stack,
    start_alertmanager,
    start_process,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def api_command(port: int) -> list[str]:
    """``uv run nba-mlops serve --port PORT`` without re-syncing the environment."""
    uv = shutil.which("uv")
    if uv is not None:
        return [uv, "run", "--project", str(REPO), "--no-sync", "nba-mlops", "serve", "--port",
                str(port)]  # fmt: skip
    return [str(Path(sys.executable).with_name("nba-mlops")), "serve", "--port", str(port)]


def api_env(home: Path) -> dict[str, str]:
    """The environment of a throwaway API: its own home, nothing shared, a random secret."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NBA_MLOPS_")
        and k not in {"DATABASE_URL", "MLFLOW_TRACKING_URI", "PREDICTION_SERVICE_URL"}
        and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env["NBA_MLOPS_HOME"] = str(home)
    env["NBA_MLOPS_JWT_SECRET"] = secrets.token_urlsafe(32)
    return env


def start_api(port: int, home: Path, workdir: Path) -> Process:
    process = start_process("api", api_command(port), workdir, env=api_env(home))

    def ready() -> bool:
        if not process.alive():
            raise RuntimeError(f"the API exited:\n{process.tail()}")
        return http_ok(f"http://127.0.0.1:{port}/metrics")

    try:
        wait_until(ready, 45, "the API's /metrics")
    except BaseException:
        process.stop()
        raise
    return process


def test_api_down_fires_reaches_alertmanager_and_resolves(
    prometheus_binary: str, alertmanager_binary: str, tmp_path: Path
) -> None:
    if importlib.util.find_spec("nba_mlops.api") is None:
        pytest.skip("API not available yet")
    started = time.monotonic()
    port = free_port()
    home = tmp_path / "home"
    target = f"127.0.0.1:{port}"
    api = start_api(port, home, tmp_path / "api")
    try:
        with monitoring_stack(
            prometheus_binary, alertmanager_binary, tmp_path / "stack", target
        ) as (prometheus, alertmanager):
            wait_until(
                lambda: prometheus.value(f'up{{job="api", instance="{target}"}}') == 1,
                15,
                "Prometheus to scrape the API",
            )
            assert prometheus.alert_state("ApiDown") is None

            api.stop()
            wait_until(
                lambda: prometheus.alert_state("ApiDown") == "firing",
                20,
                "ApiDown to fire in Prometheus",
            )
            received = wait_until(
                lambda: alertmanager.named("ApiDown"), 15, "ApiDown to reach Alertmanager"
            )
            alert = received[0]
            assert alert["labels"]["severity"] == "critical"
            assert alert["labels"]["instance"] == target
            assert alert["annotations"]["runbook_url"] == "docs/runbook.md#apidown"
            assert alert["status"]["state"] == "active"

            api = start_api(port, home, tmp_path / "api")
            wait_until(
                lambda: prometheus.alert_state("ApiDown") is None,
                20,
                "ApiDown to resolve in Prometheus",
            )
            assert prometheus.value(f'up{{job="api", instance="{target}"}}') == 1
            wait_until(
                lambda: not alertmanager.named("ApiDown"), 15, "ApiDown to resolve in Alertmanager"
            )
    finally:
        api.stop()
    assert time.monotonic() - started < 90


def test_unreachable_target_fires_api_down_into_alertmanager(
    prometheus_binary: str, alertmanager_binary: str, tmp_path: Path
) -> None:
    """The alert path itself, with nothing listening on the scraped port."""
    target = f"127.0.0.1:{free_port()}"
    with monitoring_stack(prometheus_binary, alertmanager_binary, tmp_path, target) as (
        prometheus,
        alertmanager,
    ):
        wait_until(
            lambda: prometheus.value(f'up{{job="api", instance="{target}"}}') == 0,
            15,
            "a failed scrape",
        )
        wait_until(lambda: prometheus.alert_state("ApiDown") == "firing", 20, "ApiDown to fire")
        alert = wait_until(lambda: alertmanager.named("ApiDown"), 15, "ApiDown in Alertmanager")[0]
        assert alert["annotations"]["summary"] == f"API {target} is down"
        # Prometheus itself is up: only the dead target alerts
        assert prometheus.value('up{job="prometheus"}') == 1


def repository_routing_without_notifiers() -> dict[str, Any]:
    """deploy/alertmanager/alertmanager.yml's routes and inhibit rules, receivers silenced.

    The receivers keep their names but lose Slack and email, so the test sends nothing
    anywhere while the real routing tree and inhibit rules run in the real binary.
    """
    config = yaml.safe_load((REPO / "deploy" / "alertmanager" / "alertmanager.yml").read_text())
    return {
        "route": {**config["route"], "group_wait": "1s", "group_interval": "1s"},
        "inhibit_rules": config["inhibit_rules"],
        "receivers": [{"name": r["name"]} for r in config["receivers"]],
    }


def alert(name: str, severity: str, **labels: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": {"alertname": name, "severity": severity, **labels},
        "annotations": {"summary": name},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=5)).isoformat(),
    }


def suppressed_by(manager: Alertmanager, name: str) -> list[str] | None:
    found = manager.named(name)
    if not found or found[0]["status"]["state"] == "unprocessed":
        return None
    inhibited: list[str] = found[0]["status"]["inhibitedBy"]
    return inhibited


def test_repository_inhibit_rules_hold_back_alerts_while_the_api_is_down(
    alertmanager_binary: str, tmp_path: Path
) -> None:
    manager = start_alertmanager(
        alertmanager_binary, tmp_path, repository_routing_without_notifiers()
    )
    try:
        manager.post_alerts(
            [
                alert("HighErrorRatio", "critical", job="api"),
                alert("FeatureDrift", "warning", job="api", feature="shot_distance"),
                alert("NoRecentRetrain", "warning"),
            ]
        )
        wait_until(lambda: suppressed_by(manager, "FeatureDrift") == [], 10, "alerts processed")
        assert all(a["status"]["state"] == "active" for a in manager.alerts())

        manager.post_alerts([alert("ApiDown", "critical", job="api", instance="api:8000")])
        for name in ("HighErrorRatio", "FeatureDrift", "NoRecentRetrain"):
            wait_until(
                lambda n=name: suppressed_by(manager, n) or None, 10, f"{name} to be inhibited"
            )
            assert manager.named(name)[0]["status"]["state"] == "suppressed"
        assert manager.named("ApiDown")[0]["status"]["state"] == "active"
        receivers = {r["name"] for r in manager.named("ApiDown")[0]["receivers"]}
        assert receivers == {"slack-and-email"}
    finally:
        manager.process.stop()
