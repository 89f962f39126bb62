"""Steps of a Dagster run executed by a real Celery worker process through RabbitMQ, on a
Dagster instance whose storage is PostgreSQL: the deployment's shape on one machine.

The worker is started by the test (``tests.support.celery_worker``) on a queue of its own
and stopped after it, with every process it started.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import psutil
import pytest

from nba_mlops.orchestration.definitions import build_definitions
from nba_mlops.orchestration.executors import BROKER_ENV
from nba_mlops.orchestration.settings import OrchestrationSettings
from tests.support.app_db import database_url
from tests.support.celery_worker import (
    BROKER_URL,
    celery_worker,
    deployed_dagster_home,
    require_broker,
    unique_queue,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(300)]


def test_the_definitions_use_the_celery_executor_only_when_configured(tmp_path: Path) -> None:
    local = build_definitions(OrchestrationSettings())
    assert local.resolve_job_def("retrain_job").executor_def.name == "in_process"
    with pytest.raises(ValueError, match=BROKER_ENV):
        build_definitions(OrchestrationSettings(dagster_executor="celery"))
    deployed = build_definitions(
        OrchestrationSettings(dagster_executor="celery", celery_broker_url=BROKER_URL)
    )
    for job in ("retrain_job", "full_pipeline_job", "ingest_job", "monitoring_job"):
        assert deployed.resolve_job_def(job).executor_def.name == "celery"


# dagster-celery registers its step task again for every step it submits.
@pytest.mark.filterwarnings("ignore::celery.exceptions.DuplicateTaskNameWarning")
def test_a_run_completes_with_its_steps_on_a_celery_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_broker()
    queue = unique_queue()
    monkeypatch.setenv(BROKER_ENV, BROKER_URL)
    monkeypatch.setenv("NBA_MLOPS_TEST_CELERY_QUEUE", queue)
    from tests.support import celery_job

    with database_url("postgres", tmp_path) as dagster_db:
        # The deployment's instance config, on a database of this test's own.
        dagster_home, pg_env = deployed_dagster_home(tmp_path / "dagster", dagster_db)
        monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
        for name, value in pg_env.items():
            monkeypatch.setenv(name, value)
        log = tmp_path / "worker.log"
        worker_env = {"NBA_MLOPS_TEST_CELERY_QUEUE": queue, **pg_env}
        with (
            celery_worker(queue, env=worker_env, log=log) as worker,
            dg.DagsterInstance.get() as instance,
        ):
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            result = dg.execute_job(dg.reconstructable(celery_job.celery_job), instance=instance)
            run_id = result.run_id
            assert result.success, log.read_text(errors="replace")[-4000:]
            events = {
                event.asset_key.to_user_string(): event.materialization.metadata
                for event in result.get_asset_materialization_events()
                if event.asset_key and event.materialization
            }
            assert set(events) == {"summary", "decision"}
            assert events["decision"]["squared"].value == 49
            # Both steps ran in the worker's process, not in this one.
            for name in ("summary", "decision"):
                assert events[name]["pid"].value == worker.pid != os.getpid()
            # The run and its events are in PostgreSQL, where the worker wrote its steps'.
            run = instance.get_run_by_id(run_id)
            assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
            logs = instance.all_logs(run_id)
            assert any("in celery worker" in (entry.message or "") for entry in logs)
        assert worker.poll() is not None  # stopped with the block
    # Nothing the worker started is left: its process group is gone.
    leftovers = [
        p for p in psutil.process_iter(["cmdline"]) if queue in " ".join(p.info["cmdline"] or [])
    ]
    assert not leftovers
