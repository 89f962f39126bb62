"""A Dagster run launched on this host completes with its steps executed by a Celery worker
on another host: the worker runs in a network namespace of its own and reaches RabbitMQ and
the Dagster instance's PostgreSQL of the machine across the bridge (socat on the bridge's
address forwards to them, as for the API replicas), the deployment's ``dagster-worker`` on
a second machine.

Namespaces need root; elsewhere (or with NBA_MLOPS_TEST_NO_NETNS=1) the test says so and
runs the same run with the worker on the machine's loopback. Nothing it starts outlives
it, on failure too: the worker's process group, the forwarders, the namespace, its veth
pair and the bridge are undone by the context managers it runs in, and checked gone.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import psutil
import pytest

from nba_mlops.orchestration.executors import BROKER_ENV
from tests.distributed import cluster
from tests.support.app_db import database_url
from tests.support.celery_worker import (
    BROKER_URL,
    celery_worker,
    deployed_dagster_home,
    require_broker,
    unique_queue,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(240),
    # Its own test process under xdist, apart from the replicas' cluster.
    pytest.mark.xdist_group("distributed-worker"),
]

#: tests/support/celery_job.py reads the queue of its steps from this at import.
QUEUE_ENV = "NBA_MLOPS_TEST_CELERY_QUEUE"


@dataclass
class WorkerHost:
    host: cluster.Host
    net: cluster.Network
    worker: subprocess.Popen[bytes]
    queue: str
    log: Path


def _say(request: pytest.FixtureRequest, message: str) -> None:
    """``message`` on the terminal now, past the test's output capture."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.ensure_newline()
        reporter.write_line(message, yellow=True)


def _with_host(url: str, host: str) -> tuple[str, int]:
    """``url`` with its host replaced by ``host``, and its port."""
    parts = urlsplit(url)
    port = parts.port or 5672
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc)), port


def _left_behind(queue: str, tag: str, gateway: str) -> list[str]:
    """What of the test is still there: the worker's processes, the forwarders, the
    namespace and the links named after the network's tag."""
    left = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        line = " ".join(process.info["cmdline"] or [])
        if queue in line or (line.startswith("socat") and f"bind={gateway}," in line):
            left.append(f"process {process.info['pid']}: {line}")
    if tag:
        left += [f"namespace {n}" for n in cluster.leftover_namespaces() if tag in n]
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        left += [f"link {line.split(':')[1].strip()}" for line in links.splitlines() if tag in line]
    return left


@contextlib.contextmanager
def worker_on_another_host(
    request: pytest.FixtureRequest, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[WorkerHost]:
    """A ready Celery worker for the steps of this test's runs, in a namespace of its own
    (on loopback where namespaces cannot be made), with this process set up to launch runs
    on the deployment's instance config in a PostgreSQL database of its own."""
    require_broker()
    queue = unique_queue()
    logs = folder / "logs"
    logs.mkdir(parents=True)
    monkeypatch.setenv(QUEUE_ENV, queue)
    monkeypatch.setenv(BROKER_ENV, BROKER_URL)
    with (
        database_url("postgres", folder) as dagster_db,
        cluster.network(["worker"], loopback_base=40) as net,
    ):
        if not net.isolated:
            _say(
                request,
                f"tests/distributed: network namespaces cannot be made here ({net.why_not}); "
                "the Celery worker runs on this machine's loopback instead",
            )
        (host,) = net.hosts
        dagster_home, pg_env = deployed_dagster_home(folder / "dagster", dagster_db)
        monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
        for name, value in pg_env.items():
            monkeypatch.setenv(name, value)
        # The worker reaches the broker and the database at the bridge's address, where
        # socat forwards to the machine's 127.0.0.1 (the same address on loopback).
        worker_broker, broker_port = _with_host(BROKER_URL, net.gateway)
        pg_port = int(pg_env["DAGSTER_PG_PORT"])
        worker_env = {**pg_env, "DAGSTER_PG_HOST": net.gateway, QUEUE_ENV: queue}
        log = logs / "worker.log"
        with (
            cluster.forwarders(
                net, {pg_port: pg_env["DAGSTER_PG_HOST"], broker_port: "127.0.0.1"}, logs
            ),
            celery_worker(
                queue, broker_url=worker_broker, env=worker_env, prefix=host.command([]), log=log
            ) as worker,
        ):
            yield WorkerHost(host, net, worker, queue, log)


def _namespace_of(host: cluster.Host) -> str:
    """``/proc/<pid>/ns/net``'s link of a process in ``host``'s namespace (this one's on
    loopback)."""
    if host.namespace is None:
        return str(Path("/proc/self/ns/net").readlink())
    return f"net:[{Path('/run/netns', host.namespace).stat().st_ino}]"


def _tag(net: cluster.Network) -> str:
    if not net.isolated:
        return ""
    namespace = net.hosts[0].namespace
    assert namespace is not None
    return namespace.split("-")[1]  # nba-<tag>-worker


@contextlib.contextmanager
def _celery_job_module() -> Iterator[ModuleType]:
    """tests/support/celery_job.py imported afresh, with this test's queue set (it reads the
    queue at import), and forgotten after, so a later test imports it with its own: the
    module, and the job Dagster keeps of the last reconstructed pointer (whose steps would
    go to the queue of the test that built it)."""
    from dagster._core.definitions.reconstruct import ReconstructableJob

    import tests.support as support

    name = "tests.support.celery_job"

    def forget() -> None:
        sys.modules.pop(name, None)
        support.__dict__.pop("celery_job", None)
        ReconstructableJob.get_definition.cache_clear()
        ReconstructableJob.get_repository_definition.cache_clear()

    forget()
    try:
        yield importlib.import_module(name)
    finally:
        forget()


# dagster-celery registers its step task again for every step it submits.
@pytest.mark.filterwarnings("ignore::celery.exceptions.DuplicateTaskNameWarning")
def test_a_run_completes_with_its_steps_on_a_worker_in_another_namespace(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        contextlib.ExitStack() as stack,
        worker_on_another_host(request, tmp_path, monkeypatch) as setup,
    ):
        celery_job = stack.enter_context(_celery_job_module())
        net, host, worker = setup.net, setup.host, setup.worker
        with dg.DagsterInstance.get() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            result = dg.execute_job(dg.reconstructable(celery_job.celery_job), instance=instance)
            worker_log = setup.log.read_text(errors="replace")[-4000:]
            assert result.success, worker_log
            events = {
                event.asset_key.to_user_string(): event.materialization.metadata
                for event in result.get_asset_materialization_events()
                if event.asset_key and event.materialization
            }
            assert set(events) == {"summary", "decision"}, worker_log
            assert events["decision"]["squared"].value == 49
            here = str(Path("/proc/self/ns/net").readlink())
            for name in ("summary", "decision"):
                step: dict[str, Any] = {key: value.value for key, value in events[name].items()}
                # In the worker's own process (`ip netns exec` execs it: same pid)...
                assert step["pid"] == worker.pid != os.getpid(), (name, step)
                # ...in the worker's namespace, reaching the database from its address.
                assert step["netns"] == _namespace_of(host), (name, step)
                if net.isolated:
                    assert step["netns"] != here, (name, step)
                    assert step["address"] == host.address, (name, step)
                else:
                    assert step["address"].startswith("127."), (name, step)
            assert events["decision"]["summary_pid"].value == worker.pid
            run = instance.get_run_by_id(result.run_id)
            assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
            logs = instance.all_logs(result.run_id)
            assert any("in celery worker" in (entry.message or "") for entry in logs)
        tag, gateway = _tag(net), net.gateway
    assert worker.poll() is not None
    assert not _left_behind(setup.queue, tag, gateway)


def test_nothing_outlives_a_failure_with_the_worker_running(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test failing while the worker runs leaves no process, namespace, link or
    forwarder behind."""
    seen: dict[str, str] = {}

    class BoomError(Exception):
        pass

    with (
        pytest.raises(BoomError),
        worker_on_another_host(request, tmp_path, monkeypatch) as setup,
    ):
        seen.update(queue=setup.queue, tag=_tag(setup.net), gateway=setup.net.gateway)
        assert setup.worker.poll() is None
        assert _left_behind(setup.queue, seen["tag"], seen["gateway"])  # it is all there
        raise BoomError
    assert setup.worker.poll() is not None
    assert not _left_behind(seen["queue"], seen["tag"], seen["gateway"])
