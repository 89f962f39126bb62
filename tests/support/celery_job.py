"""A small asset job on the project's Celery executor, for a worker to run.

The worker rebuilds the job from this module (``dg.reconstructable(celery_job)``), so
everything here is defined at import from the environment, the same in the test and in
the worker: ``NBA_MLOPS_CELERY_BROKER_URL`` (the executor's broker, through
``orchestration.executors.build_executor``) and ``NBA_MLOPS_TEST_CELERY_QUEUE`` (the
queue of the test's own worker).

Two assets, one handing a value to the other through the IO manager (as ``candidate_model``
hands the training summary to ``promotion_decision``); each records the process, host and
network namespace it ran in, and the address it reaches the Dagster instance's database
from (``DAGSTER_PG_HOST``), so a test can tell a worker in another namespace from its own
process. The second starts a child process of its own (as batch scoring does), which a
worker's pool process must be allowed to.
"""

import multiprocessing
import os
import socket
from pathlib import Path
from typing import Any

import dagster as dg

from nba_mlops.orchestration.executors import build_executor
from nba_mlops.orchestration.jobs import TRAINING_POOL
from nba_mlops.orchestration.settings import OrchestrationSettings

QUEUE_ENV = "NBA_MLOPS_TEST_CELERY_QUEUE"
TAGS = {"dagster-celery/queue": os.environ.get(QUEUE_ENV, "dagster")}


def _network_namespace() -> str:
    try:
        return str(Path("/proc/self/ns/net").readlink())  # "net:[inode]"
    except OSError:
        return ""


def _address_towards(host: str | None, port: int) -> str:
    """The local address this process's connections to ``host`` leave from (a route
    lookup: a UDP socket's connect sends nothing)."""
    if not host:
        return ""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((host, port))
        except OSError:
            return ""
        return str(sock.getsockname()[0])


def _where() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "netns": _network_namespace(),
        "address": _address_towards(
            os.environ.get("DAGSTER_PG_HOST"), int(os.environ.get("DAGSTER_PG_PORT") or 5432)
        ),
    }


def _square(value: int) -> int:
    return value * value


@dg.asset(op_tags=TAGS, pool=TRAINING_POOL)
def summary(context: dg.AssetExecutionContext) -> dg.Output[dict[str, Any]]:
    where = _where()
    context.log.info(f"summary on {where}")
    return dg.Output({"value": 7, **where}, metadata=where)


@dg.asset(op_tags=TAGS)
def decision(summary: dict[str, Any]) -> dg.MaterializeResult[Any]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        squared = pool.apply(_square, (summary["value"],))
    return dg.MaterializeResult(
        metadata={**_where(), "squared": squared, "summary_pid": summary["pid"]}
    )


def celery_job() -> dg.JobDefinition:
    definitions = dg.Definitions(
        assets=[summary, decision],
        jobs=[dg.define_asset_job("celery_job", selection=[summary, decision])],
        executor=build_executor(OrchestrationSettings(dagster_executor="celery")),
    )
    return definitions.resolve_job_def("celery_job")
