"""The Dagster code location: ``dagster dev -m nba_mlops.orchestration.definitions``.

Building the definitions reads the environment (schedules, thresholds, retries) and
nothing else; the data directory is only touched when a run or a sensor tick starts.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from nba_mlops.config import Settings
from nba_mlops.orchestration.assets import build_assets
from nba_mlops.orchestration.automation import build_schedules, build_sensors
from nba_mlops.orchestration.executors import build_executor
from nba_mlops.orchestration.jobs import build_jobs
from nba_mlops.orchestration.resources import NbaMlopsResource
from nba_mlops.orchestration.settings import OrchestrationSettings


def build_definitions(
    orchestration: OrchestrationSettings | None = None, resource: NbaMlopsResource | None = None
) -> dg.Definitions:
    """Assets, jobs, schedules and sensors for ``orchestration`` (default: environment)."""
    orchestration = orchestration or OrchestrationSettings()
    jobs = build_jobs()
    resources: dict[str, Any] = {"nba": resource or NbaMlopsResource()}
    if orchestration.dagster_executor == "celery":
        # Steps of one run may execute on different hosts: the one value handed between
        # them (the training summary) goes through the data directory every worker
        # already shares, not the instance's local storage folder.
        home = Settings().home.resolve()
        resources["io_manager"] = dg.FilesystemIOManager(
            base_dir=str(home / "dagster" / "step-outputs")
        )
    return dg.Definitions(
        assets=build_assets(orchestration),
        jobs=list(jobs.all()),
        schedules=build_schedules(orchestration, jobs),
        sensors=build_sensors(orchestration, jobs),
        resources=resources,
        # In-process by default: stages run one after the other and training is
        # memory-bound. NBA_MLOPS_DAGSTER_EXECUTOR=celery sends each step to a Celery
        # worker on whichever host takes it (the deployment does; executors.py).
        executor=build_executor(orchestration),
    )


defs = build_definitions()
