"""The Dagster code location: ``dagster dev -m nba_mlops.orchestration.definitions``.

Building the definitions reads the environment (schedules, thresholds, retries) and
nothing else; the data directory is only touched when a run or a sensor tick starts.
"""

from __future__ import annotations

import dagster as dg

from nba_mlops.orchestration.assets import build_assets
from nba_mlops.orchestration.automation import build_schedules, build_sensors
from nba_mlops.orchestration.jobs import build_jobs
from nba_mlops.orchestration.resources import NbaMlopsResource
from nba_mlops.orchestration.settings import OrchestrationSettings


def build_definitions(
    orchestration: OrchestrationSettings | None = None, resource: NbaMlopsResource | None = None
) -> dg.Definitions:
    """Assets, jobs, schedules and sensors for ``orchestration`` (default: environment)."""
    orchestration = orchestration or OrchestrationSettings()
    jobs = build_jobs()
    return dg.Definitions(
        assets=build_assets(orchestration),
        jobs=list(jobs.all()),
        schedules=build_schedules(orchestration, jobs),
        sensors=build_sensors(orchestration, jobs),
        resources={"nba": resource or NbaMlopsResource()},
        # Stages run one after the other and training is memory-bound: one process per run
        # is enough here; a cluster swaps in the Kubernetes or Celery executor.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
