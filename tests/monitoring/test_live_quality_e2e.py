"""Real outcomes close the loop, end to end on loopback, with the bundled sample.

A trained home whose store stops five game days before the sample's end serves the API
(``nba-mlops serve``). ``nba-mlops simulate --days 3`` predicts each day's shots, then
ingests them: the predictions are stored before their outcomes, which the ingest records
from the data; the API exports live quality beside the champion's holdout figures, and
Prometheus, running the repository's live-quality rules, finds the champion fine. Then a
deliberately bad model is promoted by hand, two more days are simulated, and Prometheus'
own rule evaluation fires LiveLogLossHigh into Alertmanager, as the ApiDown round trip
does for an outage.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.dummy import DummyClassifier

from nba_mlops.config import Settings, bundled_sample_path
from nba_mlops.data.store import ShotStore, shot_keys
from nba_mlops.features.serving import to_model_frame
from nba_mlops.registry import Registry
from tests.support.daily import cut_last_days, daily_predictions, last_game_dates, outcomes
from tests.support.monitoring_stack import (
    Process,
    free_port,
    http_ok,
    start_alertmanager,
    start_process,
    start_prometheus,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]
MODEL_RULES = REPO / "deploy" / "prometheus" / "rules" / "model.yml"
CLI = str(Path(sys.executable).with_name("nba-mlops"))
LIVE_ALERTS = ("LiveAccuracyLow", "LiveLogLossHigh")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def fast_live_quality_rules(for_duration: str = "2s") -> dict[str, Any]:
    """The repository's live-quality rules, expression and all, with a short ``for``."""
    groups = yaml.safe_load(MODEL_RULES.read_text("utf-8"))["groups"]
    rules = [
        {**rule, "for": for_duration}
        for group in groups
        for rule in group["rules"]
        if rule.get("alert") in LIVE_ALERTS
    ]
    assert len(rules) == len(LIVE_ALERTS)
    return {"groups": [{"name": "e2e-live-quality", "rules": rules}]}


def environment(settings: Settings) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NBA_MLOPS_")
        and k not in {"DATABASE_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"}
        and k not in {"PREDICTION_SERVICE_URL", "PROMETHEUS_MULTIPROC_DIR"}
    }
    env["NBA_MLOPS_HOME"] = str(settings.home)
    env["NBA_MLOPS_JWT_SECRET"] = secrets.token_urlsafe(32)
    env["NBA_MLOPS_SERVING__REFRESH_INTERVAL_S"] = "1"
    env["NBA_MLOPS_SERVING__RELOAD_INTERVAL_S"] = "1"
    return env


def command(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        [CLI, *args], env=environment(settings), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def start_api(settings: Settings, port: int, workdir: Path) -> Process:
    process = start_process(
        "api", [CLI, "serve", "--port", str(port)], workdir, env=environment(settings)
    )

    def ready() -> bool:
        if not process.alive():
            raise RuntimeError(f"the API exited:\n{process.tail()}")
        return http_ok(f"http://127.0.0.1:{port}/ready")

    try:
        wait_until(ready, 90, "the API to load the champion")
    except BaseException:
        process.stop()
        raise
    return process


def promote_a_bad_model(settings: Settings) -> int:
    """Register a model that gives every shot 80% (the sample makes 46%): worse than the
    constant make rate. It has no holdout figures; `models promote` makes it champion."""
    sample = pd.read_csv(bundled_sample_path(), nrows=400)
    frame = to_model_frame(
        [{"loc_x": int(x), "loc_y": int(y)} for x, y in zip(
            sample["X Location"], sample["Y Location"], strict=True)]
    )  # fmt: skip
    outcomes = np.where(np.arange(len(frame)) % 5 == 0, 0, 1)  # a prior of 0.8
    model = DummyClassifier(strategy="prior").fit(frame, outcomes)
    version = Registry(settings).log_version(model, run_name="deliberately-bad").version
    command(settings, "models", "promote", str(version))
    return version


def test_three_simulated_days_are_predicted_verified_and_watched(
    fresh_trained_settings: Settings,
    prometheus_binary: str,
    alertmanager_binary: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = fresh_trained_settings
    # mlflow.set_tracking_uri exports the variable Settings reads: put it back afterwards
    monkeypatch.setenv("MLFLOW_TRACKING_URI", settings.tracking_uri)
    source = cut_last_days(settings, 5, tmp_path)
    champion = Registry(settings).champion_version()
    port = free_port()
    target = f"127.0.0.1:{port}"
    api = start_api(settings, port, tmp_path / "api")
    manager = start_alertmanager(alertmanager_binary, tmp_path / "alertmanager")
    prometheus = None
    try:
        prometheus = start_prometheus(
            prometheus_binary,
            tmp_path / "prometheus",
            target=target,
            alertmanager_url=manager.url,
            rules=fast_live_quality_rules(),
        )

        # --- three days with the trained champion -------------------------------------------
        out = command(settings, "simulate", "--source", str(source), "--days", "3")
        assert "simulated 3 days (ingested)" in out, out

        predictions = daily_predictions(settings)
        sample = pd.read_csv(bundled_sample_path(), dtype=str, keep_default_na=False)
        days = sample[sample["Game Date"].isin(last_game_dates(5)[:3])]
        assert len(predictions) == len(days)
        assert {p.model_version for p in predictions} == {str(champion)}
        # stored before their outcomes: each day's file brought its shots to the store as
        # new ones after its predictions were stored, and its ingest verified them
        new_by_file = {
            Path(record["source"]).name: record["rows_new"]
            for record in ShotStore(settings).history()
            if record.get("source")
        }
        runs = pd.Series([p.run for p in predictions]).value_counts().to_dict()
        assert len(runs) == 3 and all(new_by_file[run] == n for run, n in runs.items())
        known = outcomes(settings)
        for p in predictions:
            verified_at = known[p.id][2]
            assert isinstance(verified_at, dt.datetime) and p.created_at < verified_at
        # ... and verified by that ingest, from the data
        made = dict(
            zip(
                shot_keys(days["Game ID"].astype(int), days["Game Event ID"].astype(int)).tolist(),
                days["Shot Made Flag"].astype(int),
                strict=True,
            )
        )
        for p in predictions:
            key = int(shot_keys([p.game_id], [p.game_event_id])[0])
            assert known[p.id][:2] == (made[key], "data")

        # --- the live figures reach Prometheus, beside the holdout's ------------------------
        version = f'model_version="{champion}"'
        live = wait_until(
            lambda: (
                prometheus.value(f"nba_live_verified_count{{{version}}}") == len(predictions)
                or None
            ),
            30,
            "the live figures in Prometheus",
        )
        assert live
        for name in (
            "nba_live_log_loss", "nba_live_accuracy", "nba_live_ece", "nba_live_make_rate",
            "nba_live_constant_log_loss", "nba_live_constant_accuracy",
            "nba_model_holdout_log_loss", "nba_model_holdout_accuracy",
            "nba_model_holdout_constant_log_loss",
        ):  # fmt: skip
            value = prometheus.value(f"{name}{{{version}}}")
            assert value is not None and 0 < value < 1, name
        by_day = prometheus.query(f"nba_live_day_log_loss{{{version}}}")
        assert sorted(s["metric"]["day"] for s in by_day) == [
            dt.datetime.strptime(str(int(float(d))), "%Y%m%d").date().isoformat()
            for d in last_game_dates(5)[:3]
        ]
        # the champion is fine: neither rule's condition holds (evaluated by Prometheus)
        for rule in fast_live_quality_rules()["groups"][0]["rules"]:
            assert prometheus.query(rule["expr"]) == [], rule["alert"]

        # --- a deliberately bad champion, promoted by hand ----------------------------------
        bad = promote_a_bad_model(settings)
        wait_until(
            lambda: prometheus.value(f'nba_model_info{{version="{bad}"}}') == 1 or None,
            30,
            "the API to serve the bad model",
        )
        out = command(settings, "simulate", "--source", str(source), "--days", "2")
        assert "simulated 2 days (ingested)" in out, out
        assert {p.model_version for p in daily_predictions(settings)[len(predictions) :]} == {
            str(bad)
        }

        wait_until(
            lambda: prometheus.alert_state("LiveLogLossHigh") == "firing",
            60,
            "LiveLogLossHigh to fire in Prometheus",
        )
        received = wait_until(
            lambda: manager.named("LiveLogLossHigh"), 30, "LiveLogLossHigh in Alertmanager"
        )
        alert = received[0]
        assert alert["labels"]["model_version"] == str(bad)
        assert alert["labels"]["severity"] == "warning"
        assert alert["annotations"]["runbook_url"] == "docs/runbook.md#liveloglosshigh"
        # the former champion's figures stay exported and page nobody
        firing = [a for a in prometheus.alerts() if a["state"] == "firing"]
        assert {a["labels"]["model_version"] for a in firing} == {str(bad)}

        report = command(settings, "monitor", "report", "--out", str(tmp_path / "report.html"))
        assert "wrote" in report
        page = (tmp_path / "report.html").read_text(encoding="utf-8")
        assert f"{bad} (champion)" in page and "Live quality by day" in page
        assert f"<td>{champion}</td>" in page  # the former champion's row stays
    finally:
        if prometheus is not None:
            prometheus.process.stop()
        manager.process.stop()
        api.stop()
