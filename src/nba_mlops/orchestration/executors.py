"""Where a run's steps execute: in the run's process, or on Celery workers on any host.

``NBA_MLOPS_DAGSTER_EXECUTOR=celery`` (the deployment sets it) makes every job submit each
step as a task to the broker at ``NBA_MLOPS_CELERY_BROKER_URL``; a worker started with
``nba-mlops orchestrate worker`` (:func:`worker_command_line`) on any host that reaches
the broker, the Dagster instance's PostgreSQL and the shared data directory runs it and
records its events in the instance. Unset, every step runs in the run's own process, as
``dagster dev`` and ``orchestrate run`` always do (``execute_in_process`` ignores it).

RabbitMQ is the broker: a step may run for an hour (training), and RabbitMQ keeps an
unacknowledged task with its consumer for as long as that consumer's connection lives,
where Redis as a broker re-delivers any task not acknowledged within its visibility
timeout, which would start the same step twice. It is also what dagster-celery is built
and tested against, and its ``rpc://`` result backend returns each step's events over
the same connection, so no second store is needed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import dagster as dg

from nba_mlops.orchestration.settings import OrchestrationSettings

BROKER_ENV = "NBA_MLOPS_CELERY_BROKER_URL"
#: Step results come back over the broker's own connection (RabbitMQ reply queues).
RESULT_BACKEND = "rpc://"
#: The queue dagster-celery's executor submits steps to, and its workers consume.
QUEUE = "dagster"
#: The module ``celery -A`` loads in a worker (the app and the step task).
WORKER_APP = "nba_mlops.orchestration.celery_worker"


def build_executor(orchestration: OrchestrationSettings) -> dg.ExecutorDefinition:
    """The executor of every job: in-process by default, Celery when configured."""
    if orchestration.dagster_executor == "in_process":
        return dg.in_process_executor
    if not orchestration.celery_broker_url:
        raise ValueError(f"NBA_MLOPS_DAGSTER_EXECUTOR=celery needs {BROKER_ENV}")
    from dagster_celery import celery_executor

    executor: dg.ExecutorDefinition = celery_executor.configured(
        # By reference: the broker URL (with its password) is read from the environment
        # of the process that runs the job and is not written into the run's config.
        {"broker": {"env": BROKER_ENV}, "backend": RESULT_BACKEND},
        name="celery",
    )
    return executor


def celery_app_args(broker_url: str) -> dict[str, Any]:
    """What a worker's Celery app is built from: the same settings the executor uses."""
    from dagster_celery.executor import CeleryExecutor

    args: dict[str, Any] = CeleryExecutor.for_cli(  # type: ignore[no-untyped-call]
        broker=broker_url, backend=RESULT_BACKEND
    ).app_args()
    return args


def worker_command_line(
    *,
    name: str | None = None,
    queues: Sequence[str] = (QUEUE,),
    concurrency: int = 1,
    loglevel: str = "INFO",
) -> list[str]:
    """The command that runs a Celery worker for the steps of Dagster runs.

    It reads ``NBA_MLOPS_CELERY_BROKER_URL`` and ``DAGSTER_HOME`` (the instance whose runs
    it executes steps of) from its environment. One step at a time by default (training
    is memory-bound), in a thread of the worker while its main thread keeps the broker
    connection alive (a step may run for an hour). ``queues``: the Celery queues it
    takes steps from (a step's ``dagster-celery/queue`` tag; ``dagster`` by default).
    Wrap it as you like (a container, another network namespace); it stops on SIGTERM
    after its current step.
    """
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        WORKER_APP,
        "worker",
        "--queues",
        ",".join(queues),
        # Threads, not the default prefork pool: a prefork child is a daemonic process,
        # which may not start processes of its own, and batch scoring and training do.
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
    ]
    if name:
        command += ["--hostname", f"{name}@%h"]
    return command


#: Broker URL schemes of RabbitMQ (kombu's py-amqp transport).
BROKER_SCHEMES = ("amqp://", "amqps://", "pyamqp://")


def broker_url_problem(url: str) -> str | None:
    """Why ``url`` cannot name the RabbitMQ broker, or None. Without this kombu reads a bare
    word as a host name to retry for minutes, and another scheme fails with a traceback."""
    if url.startswith(BROKER_SCHEMES):
        return None
    shown = f"...@{url.rsplit('@', 1)[1]}" if "@" in url else url  # never a password
    return (
        f"{BROKER_ENV} must name the RabbitMQ broker with {', '.join(BROKER_SCHEMES)} "
        f"(e.g. amqp://user:password@rabbitmq:5672//), not {shown!r}"
    )


def broker_url_from_environment() -> str:
    url = os.environ.get(BROKER_ENV)
    if not url:
        raise RuntimeError(f"a Celery worker needs {BROKER_ENV} (the broker's URL)")
    return url
