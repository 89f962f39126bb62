"""Three API replicas and HAProxy, each on its own host (network namespace), sharing
PostgreSQL, Redis and one MLflow registry: the deployment of deploy/compose.yaml with
`--scale api=3`, on one machine.

The machine's PostgreSQL and Redis listen on 127.0.0.1 only: socat on the bridge's
address forwards to them, so the replicas reach them across the network. The registry
holds two versions trained on the bundled sample; the first is the champion.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.distributed import cluster
from tests.support.api_champion import local_tracking_uri, register_version
from tests.support.api_servers import PG_ADMIN_URL, postgres_database, postgres_or_skip
from tests.support.prerequisites import redis_url, require

RELOAD_INTERVAL_S = 2.0
LOGIN_FAILURE_LIMIT = 3
#: Requests one replica works on at once (HAProxy queues the rest).
REPLICA_MAXCONN = 64


@dataclass
class Cluster:
    net: cluster.Network
    lb: cluster.Host
    replicas: list[cluster.Host]
    processes: dict[str, Any]
    ports: cluster.Ports
    stats_socket: Path
    database_url: str  # from this machine (psycopg)
    env: dict[str, str]  # of a replica, for the command line on a host
    model_home: Path
    logs: Path

    @property
    def url(self) -> str:
        return f"http://{self.lb.address}:{self.ports.lb}"

    def replica_url(self, host: cluster.Host) -> str:
        return f"http://{host.address}:{self.ports.api}"

    def cli(
        self, host: cluster.Host, *args: str, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        """``nba-mlops`` run on ``host``, with a replica's configuration."""
        return subprocess.run(
            host.command([cluster.CLI, *args]),
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=180,
        )

    def stats(self) -> dict[tuple[str, str], dict[str, str]]:
        return cluster.haproxy_stats(self.stats_socket)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/ready", timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not become ready:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


def _wait_all_up(stats_socket: Path, names: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        stats = cluster.haproxy_stats(stats_socket)
        status = {name: stats[("api", name)]["status"] for name in names}
        if all(value == "UP" for value in status.values()):
            return
        assert time.monotonic() < deadline, f"HAProxy does not see every replica up: {status}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def model_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One MLflow store for every replica: version 1 (champion) and version 2, both
    trained on the bundled sample."""
    home = tmp_path_factory.mktemp("registry")
    assert register_version(home, c=1.0) == 1
    assert register_version(home, c=0.001, promote=False) == 2
    return home


@pytest.fixture(scope="module")
def replicas(
    request: pytest.FixtureRequest, model_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    require("haproxy", "apt-get install haproxy")
    postgres_or_skip()
    redis_url()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    work = tmp_path_factory.mktemp("cluster")
    logs = work / "logs"
    logs.mkdir()
    names = ["api1", "api2", "api3", "lb"]
    with (
        cluster.network(names) as net,
        postgres_database("nba_distributed") as url,
        contextlib.ExitStack() as stack,
    ):
        if not net.isolated:
            reporter = request.config.pluginmanager.get_plugin("terminalreporter")
            message = (
                f"tests/distributed: network namespaces cannot be made here ({net.why_not}); "
                "running the same checks on 127.0.0.x addresses"
            )
            if reporter is not None:
                reporter.write_line(message, yellow=True)
        *hosts, lb = net.hosts
        ports = cluster.Ports.for_network(net)
        stack.enter_context(cluster.forwarders(net, {5432: "127.0.0.1", 6379: "127.0.0.1"}, logs))
        host_url = url.replace("@127.0.0.1:", f"@{net.gateway}:")
        # The suite's run marker (tests/conftest.py) stays: a process left behind is found.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("NBA_MLOPS_") or k == "NBA_MLOPS_TEST_RUN"
        }
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "DATABASE_URL", "REDIS_URL"):
            env.pop(name, None)
        env.update(
            MLFLOW_TRACKING_URI=local_tracking_uri(model_home),
            DATABASE_URL=host_url,
            REDIS_URL=f"redis://{net.gateway}:6379/0",
            NBA_MLOPS_JWT_SECRET=secrets.token_urlsafe(48),
            NBA_MLOPS_LOG_LEVEL="WARNING",
            NBA_MLOPS_SERVING__RELOAD_INTERVAL_S=str(RELOAD_INTERVAL_S),
            NBA_MLOPS_SERVING__REFRESH_INTERVAL_S="0",
            NBA_MLOPS_SERVING__SIGNUP_LIMITS="",
            NBA_MLOPS_SERVING__LOGIN_LIMITS="",
            NBA_MLOPS_SERVING__LOGIN_FAILURE_LIMITS=f"{LOGIN_FAILURE_LIMIT}/minute",
            # A status cached for ten minutes: only Redis's news explains a change seen sooner.
            NBA_MLOPS_SERVING__USER_CACHE_TTL_S="600",
            NBA_MLOPS_SERVING__TRUSTED_PROXIES=json.dumps([lb.address]),
            NBA_MLOPS_HOME=str(work / "cli-home"),
        )
        processes: dict[str, Any] = {}
        for host in hosts:  # started together: migrations wait for each other's lock
            replica_env = {**env, "NBA_MLOPS_HOME": str(work / f"home-{host.name}")}
            command = host.command(
                [cluster.CLI, "serve", "--host", host.address, "--port", str(ports.api),
                 "--workers", "1"]
            )  # fmt: skip
            processes[host.name] = stack.enter_context(
                cluster.started(command, logs / f"{host.name}.log", replica_env)
            )
        for host in hosts:
            url_ = f"http://{host.address}:{ports.api}"
            _wait_ready(url_, processes[host.name], logs / f"{host.name}.log", 240)
        stats_socket = work / "haproxy.sock"
        config = work / "haproxy.cfg"
        config.write_text(
            cluster.haproxy_config(lb, hosts, stats_socket, ports, maxconn=REPLICA_MAXCONN),
            encoding="utf-8",
        )
        processes["lb"] = stack.enter_context(
            cluster.started(lb.command(["haproxy", "-db", "-f", str(config)]), logs / "lb.log")
        )
        cluster.wait_for_port(lb.address, ports.lb, 20)
        _wait_all_up(stats_socket, [h.name for h in hosts], 30)
        yield Cluster(
            net,
            lb,
            hosts,
            processes,
            ports,
            stats_socket,
            PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1],
            env,
            model_home,
            logs,
        )
    if net.isolated:
        ours = {h.namespace for h in net.hosts}
        left = [name for name in cluster.leftover_namespaces() if name in ours]
        assert not left, f"namespaces left behind: {left}"
