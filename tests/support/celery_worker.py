"""A real Celery worker for the steps of Dagster runs, started and stopped by a test.

:func:`celery_worker` starts ``nba-mlops orchestrate worker``'s command
(``orchestration.executors.worker_command_line``) as a child process in a session of its
own, waits until it answers a ping through the broker, and on leaving stops the whole
session (the worker and its pool children): no process outlives the block.

``prefix`` runs the command under another one, e.g. ``["ip", "netns", "exec", "ns1"]`` to
put the worker in another network namespace; it must then reach the broker, the Dagster
instance's database and the application database at the addresses in ``env``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import psycopg

from tests.support.prerequisites import missing

REPO = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("NBA_MLOPS_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672//")


def require_broker(url: str = BROKER_URL) -> None:
    """Skip (locally) or fail (CI) unless the RabbitMQ broker at ``url`` accepts a login."""
    from kombu.connection import Connection

    try:
        with Connection(url, connect_timeout=3) as connection:  # type: ignore[no-untyped-call]
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # kombu raises the transport's own errors
        missing("RabbitMQ", f"{url} is unreachable: {exc}")


def unique_queue() -> str:
    """A queue of this test's own, so workers of other test runs on the broker never take
    its steps (the executor submits to the step's ``dagster-celery/queue`` tag)."""
    return f"nba-test-{uuid.uuid4().hex[:10]}"


def worker_environment(broker_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["NBA_MLOPS_CELERY_BROKER_URL"] = broker_url
    # The worker rebuilds the job from its module: the tests package must be importable.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(extra or {})
    return env


def start_worker(
    queue: str,
    *,
    broker_url: str = BROKER_URL,
    env: Mapping[str, str] | None = None,
    prefix: Sequence[str] = (),
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a worker consuming ``queue`` (not waiting for it; see :func:`wait_ready`)."""
    from nba_mlops.orchestration.executors import worker_command_line

    command = [*prefix, *worker_command_line(name=queue, queues=[queue])]
    output = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            command,
            env=worker_environment(broker_url, env),
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole
        )
    finally:
        if log is not None:
            output.close()  # type: ignore[union-attr]


def wait_ready(
    process: subprocess.Popen[bytes], queue: str, broker_url: str = BROKER_URL, timeout: float = 90
) -> None:
    """Until the worker named after ``queue`` answers a ping through the broker."""
    from celery import Celery

    app = Celery(broker=broker_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {process.returncode}")
            replies = app.control.ping(timeout=1.0)
            if any(name.startswith(f"{queue}@") for reply in replies for name in reply):
                return
        raise TimeoutError(f"the Celery worker for {queue} did not answer within {timeout}s")
    finally:
        app.close()


def stop_worker(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM to the worker's process group (a warm shutdown), SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    # Pool children that outlived the parent are in the same group: make sure of them.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def celery_worker(
    queue: str,
    *,
    broker_url: str = BROKER_URL,
    env: Mapping[str, str] | None = None,
    prefix: Sequence[str] = (),
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A ready worker on ``queue`` for the block, stopped (with its children) after it."""
    process = start_worker(queue, broker_url=broker_url, env=env, prefix=prefix, log=log)
    try:
        wait_ready(process, queue, broker_url)
        yield process
    finally:
        stop_worker(process)


DEPLOYED_INSTANCE = REPO / "deploy" / "docker" / "dagster" / "dagster.yaml"


def deployed_dagster_home(folder: Path, database_url: str) -> tuple[Path, dict[str, str]]:
    """A ``DAGSTER_HOME`` with the deployment's ``dagster.yaml`` (PostgreSQL storage, the
    run queue and pool limits), its local folders moved under ``folder``, and the
    ``DAGSTER_PG_*`` variables that point it at ``database_url`` (a PostgreSQL database,
    e.g. from ``tests.support.app_db.database_url``). Every process that opens the
    instance, the run's and the workers', needs those variables."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    psycopg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False), connect_timeout=3
    ).close()
    folder.mkdir(parents=True, exist_ok=True)
    text = DEPLOYED_INSTANCE.read_text(encoding="utf-8")
    (folder / "dagster.yaml").write_text(
        text.replace("/var/lib/dagster", str(folder / "state")), encoding="utf-8"
    )
    env = {
        "DAGSTER_PG_HOST": url.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_DB": str(url.database),
        "DAGSTER_PG_USER": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "",
    }
    return folder, env
