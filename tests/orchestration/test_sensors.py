"""The sensors: ingestion when a file lands (each file once), retraining when monitoring
sees drift or a live-accuracy drop (once per champion and data version), and neither
while a training run is in progress."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from nba_mlops.config import Settings, bundled_sample_path
from nba_mlops.monitoring.build import champion_info
from nba_mlops.orchestration.jobs import TRAINING_TAG, TRIGGER_TAG
from tests.support.orchestration import (
    definitions_for,
    reference_requests,
    shots_from,
    store_predictions,
)


def tick(
    definitions: dg.Definitions,
    name: str,
    instance: dg.DagsterInstance,
    cursor: str | None = None,
) -> dg.SensorResult:
    sensor = definitions.resolve_sensor_def(name)
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=definitions,
        sensor_name=name,
        resources=dict(definitions.resources or {}),
    )
    data = sensor.evaluate_tick(context)
    return dg.SensorResult(
        run_requests=data.run_requests, skip_reason=data.skip_message, cursor=data.cursor
    )


# --- a file lands in the incoming folder -------------------------------------------------------
def test_ingest_sensor_fires_once_per_new_file(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    definitions = definitions_for(settings)

    first = tick(definitions, "incoming_file_sensor", instance)
    assert not first.run_requests and "no new file" in str(first.skip_reason)

    landed = settings.incoming_dir / "shots_2023-04-10.csv.gz"
    shutil.copy(bundled_sample_path(), landed)
    (settings.incoming_dir / ".partial-copy.csv").write_text("still being written")
    fired = tick(definitions, "incoming_file_sensor", instance, first.cursor)
    assert len(fired.run_requests or []) == 1
    request = (fired.run_requests or [])[0]
    assert request.run_key and request.tags[TRIGGER_TAG] == "incoming-file"
    assert request.tags["nba-mlops/files"] == landed.name

    again = tick(definitions, "incoming_file_sensor", instance, fired.cursor)
    assert not again.run_requests, "the same file must not start a second ingestion"

    # The same name delivered again (a new modification time) is a new file.
    stat = landed.stat()
    os.utime(landed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    redelivered = tick(definitions, "incoming_file_sensor", instance, again.cursor)
    assert len(redelivered.run_requests or []) == 1
    assert (redelivered.run_requests or [])[0].run_key != request.run_key


def test_ingest_sensor_waits_for_a_file_still_being_copied(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    definitions = definitions_for(settings, incoming_settle_s=3600.0)
    shutil.copy(bundled_sample_path(), settings.incoming_dir / "shots_new.csv.gz")
    result = tick(definitions, "incoming_file_sensor", instance)
    assert not result.run_requests
    assert "1 still being written" in str(result.skip_reason)


# --- monitoring asks for a retrain -------------------------------------------------------------
@pytest.mark.slow
def test_drift_starts_one_retrain_per_champion_and_data_version(
    fresh_trained_settings: Settings, instance: dg.DagsterInstance
) -> None:
    settings = fresh_trained_settings
    definitions = definitions_for(settings)
    champion = champion_info(settings).version
    name = "retrain_on_monitoring_sensor"

    # Too few requests: PSI is noise, nothing happens.
    store_predictions(settings, shots_from(30, 50), version=champion)
    quiet = tick(definitions, name, instance)
    assert not quiet.run_requests and "insufficient_sample" in str(quiet.skip_reason)

    # Requests like the training shots: no drift.
    store_predictions(settings, reference_requests(settings, 400), version=champion)
    calm = tick(definitions, name, instance)
    assert not calm.run_requests and "is fine" in str(calm.skip_reason)

    # Everybody now shoots from 30 feet.
    store_predictions(settings, shots_from(30, 600), version=champion)
    fired = tick(definitions, name, instance, calm.cursor)
    assert len(fired.run_requests or []) == 1
    request = (fired.run_requests or [])[0]
    assert request.tags[TRIGGER_TAG] == "drift"
    assert request.tags["nba-mlops/champion"] == str(champion)
    assert "max PSI" in request.tags["nba-mlops/reason"]
    assert definitions.resolve_sensor_def(name).job_name == "retrain_job"

    repeated = tick(definitions, name, instance, fired.cursor)
    assert not repeated.run_requests
    assert "already retrained" in str(repeated.skip_reason)


@pytest.mark.slow
def test_a_live_accuracy_drop_starts_a_retrain(
    fresh_trained_settings: Settings, instance: dg.DagsterInstance
) -> None:
    settings = fresh_trained_settings
    definitions = definitions_for(settings)
    champion = champion_info(settings).version
    requests = reference_requests(settings, 150)
    # Predicted "miss" (0.3) and every shot went in: live accuracy 0 on 150 verified.
    store_predictions(settings, requests, version=champion, probability=0.3, outcome=1)
    too_few = tick(definitions, "retrain_on_monitoring_sensor", instance)
    assert not too_few.run_requests, "150 verified predictions are below the minimum of 200"

    store_predictions(settings, requests, version=champion, probability=0.3, outcome=1)
    fired = tick(definitions, "retrain_on_monitoring_sensor", instance)
    assert len(fired.run_requests or []) == 1
    assert (fired.run_requests or [])[0].tags[TRIGGER_TAG] == "accuracy"
    assert (
        "live accuracy 0.000 on 300 verified"
        in (fired.run_requests or [])[0].tags["nba-mlops/reason"]
    )


def test_no_retrain_is_requested_while_a_training_run_is_active(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    settings = Settings(home=tmp_path / "home")
    definitions = definitions_for(settings)
    job = definitions.resolve_job_def("retrain_job")
    instance.create_run_for_job(
        job, tags={TRAINING_TAG: "true"}, status=dg.DagsterRunStatus.STARTED
    )

    sensor = tick(definitions, "retrain_on_monitoring_sensor", instance)
    assert not sensor.run_requests
    assert "already queued or in progress" in str(sensor.skip_reason)

    schedule = definitions.resolve_schedule_def("daily_retrain_schedule")
    data = schedule.evaluate_tick(dg.build_schedule_context(instance=instance))
    assert not data.run_requests
    assert "one retraining at a time" in str(data.skip_message)
