"""The code location: assets and their order, schedules from the environment, retry
policies, the training tag and its run-queue limit, and the ``orchestrate`` commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from nba_mlops.cli import app
from nba_mlops.config import Settings, bundled_sample_path, get_settings
from nba_mlops.orchestration.definitions import build_definitions
from nba_mlops.orchestration.instance import write_instance_config
from nba_mlops.orchestration.jobs import TRAINING_TAG
from nba_mlops.orchestration.resources import NbaMlopsResource
from nba_mlops.orchestration.settings import OrchestrationSettings

PARENTS = {
    "incoming_batch": set(),
    "shot_store": {"incoming_batch"},
    "training_set": {"shot_store"},
    "candidate_model": {"training_set"},
    "promotion_decision": {"candidate_model"},
    "batch_predictions": {"shot_store", "promotion_decision"},
    "monitoring_report": {"promotion_decision"},
}


def test_the_asset_graph_follows_the_stages() -> None:
    graph = build_definitions().resolve_asset_graph()
    found = {key.to_user_string(): key for key in graph.get_all_asset_keys()}
    assert set(found) == set(PARENTS)
    for name, parents in PARENTS.items():
        assert {k.to_user_string() for k in graph.get(found[name]).parent_keys} == parents


def test_every_asset_retries_transient_failures_with_exponential_back_off() -> None:
    orchestration = OrchestrationSettings(retry_max=4, retry_delay_s=15)
    for asset in build_definitions(orchestration).assets or []:
        assert isinstance(asset, dg.AssetsDefinition)
        policy = asset.node_def.retry_policy
        assert policy is not None and policy.max_retries == 4 and policy.delay == 15
        assert policy.backoff == dg.Backoff.EXPONENTIAL


def test_schedules_default_to_the_original_times_in_utc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("NBA_MLOPS_SIMULATION_CRON", "NBA_MLOPS_RETRAIN_CRON"):
        monkeypatch.delenv(variable, raising=False)
    definitions = build_definitions()
    new_data = definitions.resolve_schedule_def("daily_new_data_schedule")
    retrain = definitions.resolve_schedule_def("daily_retrain_schedule")
    assert (new_data.cron_schedule, new_data.job_name) == ("0 4 * * *", "new_data_job")
    assert (retrain.cron_schedule, retrain.job_name) == ("0 5 * * *", "retrain_job")
    assert new_data.execution_timezone == retrain.execution_timezone == "UTC"
    assert new_data.default_status == dg.DefaultScheduleStatus.RUNNING


def test_schedules_sensors_and_the_source_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NBA_MLOPS_RETRAIN_CRON", "15 6 * * 1-5")
    monkeypatch.setenv("NBA_MLOPS_SCHEDULE_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("NBA_MLOPS_AUTOMATION_ENABLED", "false")
    monkeypatch.setenv("NBA_MLOPS_SIMULATION_SOURCE", str(tmp_path / "all_shots.parquet"))
    definitions = build_definitions()
    retrain = definitions.resolve_schedule_def("daily_retrain_schedule")
    assert retrain.cron_schedule == "15 6 * * 1-5"
    assert retrain.execution_timezone == "Europe/Paris"
    assert retrain.default_status == dg.DefaultScheduleStatus.STOPPED
    sensor = definitions.resolve_sensor_def("incoming_file_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert NbaMlopsResource().simulation_source_path() == tmp_path / "all_shots.parquet"
    monkeypatch.setenv("NBA_MLOPS_SIMULATION_SOURCE", "")  # how compose passes "unset"
    assert NbaMlopsResource().simulation_source_path() == bundled_sample_path()


def test_only_training_jobs_carry_the_training_tag() -> None:
    definitions = build_definitions()
    tagged = {
        job.name
        for job in definitions.resolve_all_job_defs()
        if job.tags.get(TRAINING_TAG) == "true"
    }
    assert tagged == {"retrain_job", "full_pipeline_job"}


def test_the_instance_queues_one_training_run_at_a_time(tmp_path: Path) -> None:
    home = write_instance_config(Settings(home=tmp_path / "home"))
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None
        limits = [dict(limit) for limit in queue.tag_concurrency_limits]
        assert {"key": TRAINING_TAG, "value": "true", "limit": 1} in limits
    finally:
        instance.dispose()


def test_dagster_validates_the_code_location(tmp_path: Path) -> None:
    env = os.environ | {"DAGSTER_HOME": str(write_instance_config(Settings(home=tmp_path)))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "definitions",
            "validate",
            "-m",
            "nba_mlops.orchestration.definitions",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful" in done.stdout + done.stderr


def test_orchestrate_commands_prepare_the_local_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBA_MLOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))  # the command sets it: restore after
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        dev = runner.invoke(app, ["orchestrate", "dev", "--port", "3999", "--dry-run"])
        config = runner.invoke(app, ["orchestrate", "config"])
    finally:
        get_settings.cache_clear()
    assert dev.exit_code == 0, dev.output
    assert "dagster dev -m nba_mlops.orchestration.definitions" in dev.output
    assert "--port 3999" in dev.output
    dagster_home = (tmp_path / "home" / "dagster").resolve()
    assert f"DAGSTER_HOME={dagster_home}" in dev.output
    assert config.exit_code == 0, config.output
    assert (dagster_home / "dagster.yaml").read_text().count(TRAINING_TAG) == 1
