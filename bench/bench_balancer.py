"""Load test through the balancer: HAProxy (deploy/haproxy/haproxy.cfg) in front of three
API replicas, next to the same balancer in front of one replica, in the same run.

    uv run python bench/bench_balancer.py [--duration 15] [--levels 64,1000]
                                          [--timeout 10] [--model-home DIR] [--payload raw]

Needs ``wrk`` and ``haproxy`` (``make test-deps``), PostgreSQL at ``--postgres`` (a fresh
database per setup, dropped after) and Redis at ``--redis`` (attempt limits and account
news shared by the replicas, as deployed). Each replica is one ``nba-mlops serve`` process
with one worker and its own home, all sharing the champion's MLflow store; the replicas
and the balancer listen on their own loopback addresses (127.0.0.x), as the hosts of
tests/distributed/ do without the network namespaces between them.

The champion is trained on the bundled sample (the pipeline, a few minutes) unless
``--model-home`` names a home with one. For each setup and concurrency level ``wrk``
sends authenticated ``POST /predict`` requests for ``--duration`` seconds (bench_api.py's
script and payloads). Printed: predictions/s, p50/p99, errors (non-2xx plus socket
errors, a request unanswered after ``--timeout`` seconds included: the balancer queues
what the replicas cannot take at once, so waits are longer than wrk's default 2 s) and
rows stored against 2xx answers.

On a machine with fewer cores than replicas, three replicas are not expected to be
faster: they share the same cores, and the balancer takes its own share.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench_api import (  # bench/ is on the path of a script run from it
    BIN,
    LUA,
    PASSWORD,
    Level,
    lua_list,
    postgres_database,
    run_wrk,
    shot_bodies,
    stored_rows,
    trained_home,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.distributed import cluster  # noqa: E402  (the test's hosts and HAProxy config)

#: deploy/haproxy/haproxy.cfg's slowstart.
SLOWSTART_S = 10.0


@dataclass
class Row(Level):
    """A level through the balancer: how many replicas, and how busy the machine was."""

    replicas: int = 1
    load_before: float = 0.0  # the machine's 1-minute load average as the level started


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> float:
    started = time.monotonic()
    while True:
        try:
            if httpx.get(f"{url}/ready", timeout=3).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() - started > 300:
            raise RuntimeError(f"{url} did not become ready:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def wait_all_up(stats_socket: Path, names: list[str]) -> None:
    deadline = time.monotonic() + 30
    while True:
        stats = cluster.haproxy_stats(stats_socket)
        if all(stats[("api", name)]["status"] == "UP" for name in names):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("HAProxy does not see every replica up")
        time.sleep(0.2)


def measure_setup(count: int, args: argparse.Namespace, model_home: Path, work: Path) -> list[Row]:
    tracking = f"sqlite:///{(model_home / 'mlflow' / 'mlflow.db').resolve()}"
    names = [f"api{i + 1}" for i in range(count)] + ["lb"]
    logs = work / f"logs-{count}"
    logs.mkdir()
    rows: list[Row] = []
    with (
        postgres_database(args.postgres) as db_url,
        cluster.network(names, isolate=False, loopback_base=20) as net,
        contextlib.ExitStack() as stack,
    ):
        *hosts, lb = net.hosts
        ports = cluster.Ports.for_network(net)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_MLOPS_")}
        env.pop("MLFLOW_TRACKING_URI", None)
        env.update(
            MLFLOW_TRACKING_URI=tracking,
            DATABASE_URL=db_url.replace("postgresql://", "postgresql+psycopg://", 1),
            REDIS_URL=args.redis,
            NBA_MLOPS_JWT_SECRET=secrets.token_urlsafe(48),
            NBA_MLOPS_LOG_LEVEL="WARNING",
            NBA_MLOPS_SERVING__TRUSTED_PROXIES=json.dumps([lb.address]),
        )
        processes = {}
        for host in hosts:
            command = [
                str(BIN / "nba-mlops"), "serve", "--host", host.address,
                "--port", str(ports.api), "--workers", "1",
            ]  # fmt: skip
            replica_env = {**env, "NBA_MLOPS_HOME": str(work / f"home-{count}-{host.name}")}
            processes[host.name] = stack.enter_context(
                cluster.started(command, logs / f"{host.name}.log", replica_env)
            )
        ready = [
            wait_ready(f"http://{h.address}:{ports.api}", processes[h.name], logs / f"{h.name}.log")
            for h in hosts
        ]
        stats_socket = work / f"haproxy-{count}.sock"
        config = work / f"haproxy-{count}.cfg"
        config.write_text(cluster.haproxy_config(lb, hosts, stats_socket, ports), "utf-8")
        stack.enter_context(cluster.started(["haproxy", "-db", "-f", str(config)], logs / "lb.log"))
        cluster.wait_for_port(lb.address, ports.lb, 20)
        wait_all_up(stats_socket, [h.name for h in hosts])
        time.sleep(SLOWSTART_S)  # replicas just up get a growing share until then
        base = f"http://{lb.address}:{ports.lb}"
        with httpx.Client(base_url=base, timeout=60) as http:
            http.post(
                "/signup", json={"username": "bench", "password": PASSWORD}
            ).raise_for_status()
            token = http.post("/login", data={"username": "bench", "password": PASSWORD})
            token.raise_for_status()
            model = http.get("/models/current").json()
        script = work / f"predict-{count}.lua"
        bodies = lua_list(shot_bodies(payload=args.payload))
        script.write_text(LUA % {"bodies": bodies, "token": token.json()["access_token"]})
        print(
            f"{count} replica(s) behind HAProxy at {base}: champion {model['name']} "
            f"v{model['version']}; ready after {max(ready):.1f} s",
            flush=True,
        )
        run_wrk(f"{base}/predict", script, 16, 3, args.threads, args.timeout)  # warm-up
        time.sleep(1)
        for connections in args.levels:
            before = stored_rows(db_url)
            load_before = os.getloadavg()[0]
            stats = run_wrk(
                f"{base}/predict", script, connections, args.duration, args.threads, args.timeout
            )
            time.sleep(2)  # requests still in flight at the end finish and commit
            row = Row.from_wrk(
                f"{count} replica(s)",
                connections,
                stats,
                stored_rows(db_url) - before,
                replicas=count,
                load_before=load_before,
            )
            rows.append(row)
            print(
                f"  {count} replica(s) c={connections:<5} {row.throughput:8.0f}/s  "
                f"p50 {row.p50_ms:7.1f} ms  p99 {row.p99_ms:7.1f} ms  non-2xx {row.non_2xx}  "
                f"socket errors {row.socket_errors}  stored {row.stored} / 2xx {row.ok}",
                flush=True,
            )
            time.sleep(2)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--levels", default="64,1000")
    parser.add_argument("--setups", default="3,1", help="replica counts, in running order")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--model-home", type=Path, default=None)
    parser.add_argument("--payload", choices=("original", "raw"), default="original")
    args = parser.parse_args()
    args.levels = [int(v) for v in args.levels.split(",")]
    for tool in ("wrk", "haproxy"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: apt-get install -y {tool} (make test-deps)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    with tempfile.TemporaryDirectory(prefix="nba-bench-lb-") as tmp:
        work = Path(tmp)
        model_home = trained_home(args.model_home, work)
        rows: list[Row] = []
        for count in (int(v) for v in args.setups.split(",")):
            rows += measure_setup(count, args, model_home, work)
    print_table(rows, args)


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    cpus = os.cpu_count()
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()
    haproxy = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout.split()
    cpu = platform.processor() or platform.machine()
    print(
        f"\n{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {cpu}, "
        f"{cpus} cores, {memory_gib:.0f} GiB, Python {platform.python_version()}, HAProxy "
        f"{haproxy[2] if len(haproxy) > 2 else '?'}; one uvicorn worker per replica, wrk "
        f"{args.threads} threads and a {args.timeout:g} s time-out, {args.duration:g} s per "
        f"level, {args.payload} payload; load average after the run {load[0]:.1f}\n"
    )
    single = {r.connections: r for r in rows if r.replicas == 1}
    print(
        "| replicas behind HAProxy | connections | predictions/s | p50 ms | p99 ms "
        "| errors (non-2xx + socket) | rows stored / 2xx | vs one replica | load before |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: (r.connections, r.replicas)):
        one = single.get(r.connections)
        ratio = f"{r.throughput / one.throughput:.2f}x" if one and one.throughput else ""
        print(
            f"| {r.replicas} | {r.connections:,} | {r.throughput:,.0f} | {r.p50_ms:.1f} | "
            f"{r.p99_ms:.1f} | {r.non_2xx} + {r.socket_errors} | {r.stored:,} / {r.ok:,} | "
            f"{ratio} | {r.load_before:.1f} |"
        )


if __name__ == "__main__":
    main()
