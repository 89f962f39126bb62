"""Schedules and sensors: daily new data and retraining, ingestion when a file lands,
retraining when monitoring sees drift or a drop in live accuracy."""

import contextlib
import hashlib
import json
import time
from typing import Any

import dagster as dg
from dagster import ScheduleEvaluationContext, SensorEvaluationContext

from nba_mlops.orchestration.jobs import TRIGGER_TAG, Jobs, active_training_runs
from nba_mlops.orchestration.resources import NbaMlopsResource
from nba_mlops.orchestration.settings import OrchestrationSettings


def _statuses(
    orchestration: OrchestrationSettings,
) -> tuple[dg.DefaultScheduleStatus, dg.DefaultSensorStatus]:
    if orchestration.automation_enabled:
        return dg.DefaultScheduleStatus.RUNNING, dg.DefaultSensorStatus.RUNNING
    return dg.DefaultScheduleStatus.STOPPED, dg.DefaultSensorStatus.STOPPED


def _training_busy(instance: dg.DagsterInstance) -> dg.SkipReason | None:
    active = active_training_runs(instance)
    if not active:
        return None
    return dg.SkipReason(
        f"a training run is already queued or in progress (run {active[0]}); "
        "not starting another: one retraining at a time"
    )


def build_schedules(orchestration: OrchestrationSettings, jobs: Jobs) -> list[Any]:
    schedule_status, _ = _statuses(orchestration)
    timezone = orchestration.schedule_timezone

    new_data = dg.ScheduleDefinition(
        name="daily_new_data_schedule",
        cron_schedule=orchestration.simulation_cron,
        job=jobs.new_data,
        execution_timezone=timezone,
        default_status=schedule_status,
        tags={TRIGGER_TAG: "schedule"},
        description="The day's new shots into the incoming folder (the ingest sensor takes "
        "it from there).",
    )

    @dg.schedule(
        name="daily_retrain_schedule",
        cron_schedule=orchestration.retrain_cron,
        job=jobs.retrain,
        execution_timezone=timezone,
        default_status=schedule_status,
        description="Retrain on everything in the store; skipped while a training runs.",
    )
    def daily_retrain(context: ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        busy = _training_busy(context.instance)
        if busy is not None:
            return busy
        return dg.RunRequest(tags={TRIGGER_TAG: "schedule"})

    monitoring = dg.ScheduleDefinition(
        name="monitoring_report_schedule",
        cron_schedule=orchestration.monitoring_cron,
        job=jobs.monitoring,
        execution_timezone=timezone,
        default_status=schedule_status,
        tags={TRIGGER_TAG: "schedule"},
        description="Refresh the monitoring report.",
    )
    return [new_data, daily_retrain, monitoring]


def build_sensors(orchestration: OrchestrationSettings, jobs: Jobs) -> list[Any]:
    _, sensor_status = _statuses(orchestration)

    @dg.sensor(
        name="incoming_file_sensor",
        job=jobs.ingest,
        minimum_interval_seconds=orchestration.incoming_sensor_interval_s,
        default_status=sensor_status,
        description="Ingest when a shot file lands in the incoming folder (each file name "
        "and modification time once).",
    )
    def incoming_file_sensor(
        context: SensorEvaluationContext, nba: NbaMlopsResource
    ) -> dg.SensorResult:
        from nba_mlops.data.ingest import incoming_files

        settings = nba.settings()
        seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        present: dict[str, int] = {}
        fresh: list[str] = []
        settling: list[str] = []
        now, settle = time.time(), orchestration.incoming_settle_s
        for path in incoming_files(settings):
            with contextlib.suppress(FileNotFoundError):  # ingested meanwhile
                stat = path.stat()
                if settle and now - stat.st_mtime < settle:
                    settling.append(path.name)  # may still be being copied
                    continue
                present[path.name] = stat.st_mtime_ns
                if seen.get(path.name) != stat.st_mtime_ns:
                    fresh.append(path.name)
        # Only files still waiting stay in the cursor: it cannot grow without bound, and a
        # later file of the same name counts as new.
        cursor = json.dumps(present, sort_keys=True)
        if not fresh:
            waiting = f"; {len(settling)} still being written" if settling else ""
            return dg.SensorResult(
                skip_reason=f"no new file in {settings.incoming_dir}{waiting}", cursor=cursor
            )
        identity = json.dumps({name: present[name] for name in fresh}, sort_keys=True)
        run_key = "ingest-" + hashlib.sha256(identity.encode()).hexdigest()[:16]
        context.log.info("new incoming file(s): %s", ", ".join(fresh))
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=run_key,
                    tags={TRIGGER_TAG: "incoming-file", "nba-mlops/files": ",".join(fresh)[:200]},
                )
            ],
            cursor=cursor,
        )

    @dg.sensor(
        name="retrain_on_monitoring_sensor",
        job=jobs.retrain,
        minimum_interval_seconds=orchestration.retrain_sensor_interval_s,
        default_status=sensor_status,
        description="Retrain when recent requests drift from the champion's training shots "
        "or its live accuracy drops (once per champion and data version).",
    )
    def retrain_on_monitoring_sensor(
        context: SensorEvaluationContext, nba: NbaMlopsResource
    ) -> dg.SensorResult | dg.SkipReason:
        from nba_mlops.orchestration.signals import retrain_signal

        busy = _training_busy(context.instance)
        if busy is not None:
            return busy
        settings = nba.settings()
        try:
            signal = retrain_signal(settings, nba.orchestration())
        except LookupError as exc:  # no champion yet: the schedule trains the first one
            return dg.SkipReason(str(exc))
        if not signal.triggered:
            return dg.SkipReason(signal.message())
        if context.cursor == signal.key:
            return dg.SkipReason(
                f"{signal.message()}; already retrained for {signal.key}: the next retrain "
                "waits for new data or a new champion"
            )
        context.log.info(signal.message())
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"retrain-{signal.key}",
                    tags={
                        TRIGGER_TAG: "+".join(signal.kinds),
                        "nba-mlops/champion": str(signal.champion_version),
                        "nba-mlops/reason": signal.message()[:250],
                    },
                )
            ],
            cursor=signal.key,
        )

    return [incoming_file_sensor, retrain_on_monitoring_sensor]
