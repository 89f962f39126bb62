"""Load test of the prediction API against PostgreSQL, beside a bare FastAPI app.

    uv run python bench/bench_api.py [--duration 15] [--levels 1,64,1000] [--workers 2]
                                     [--timeout 2] [--model-home DIR] [--skip-bare]
                                     [--rounds 2]
                                     [--payload original|raw] [--fast-path on|off|both]
    uv run python bench/bench_api.py --start-up-only [--starts 4] [--before SRC]

Needs ``wrk`` (Debian: ``apt-get install -y wrk``) and PostgreSQL at
``--postgres`` (default postgresql://postgres@127.0.0.1:5432/test): a fresh database is
created for the run and dropped after. The champion comes from ``--model-home`` (a home
where the pipeline ran); by default the full-data home beside the repository
(``../full``, the production model), and where that has no champion, the script says so
and runs the pipeline on the bundled sample first.

For each concurrency level ``wrk`` sends authenticated ``POST /predict`` requests for
``--duration`` seconds: the original project's 39-field payload (``--payload original``,
the default) or raw shot fields (``raw``), 64 different shots. Printed per level:
throughput, p50/p99 latency, errors (non-2xx answers plus socket errors: connect, read,
write, and time-outs, a request unanswered after ``--timeout`` seconds, wrk's default 2),
and rows stored in ``predictions`` against 2xx answers (a lost row would be a 2xx with no
row). The bare app (bench/bare_app.py) parses the same bodies and answers a constant;
it runs beside the API for the whole run, and each level of the API is followed at once
by the same level on the bare app, ``--rounds`` times (the machine's speed drifts from
minute to minute: each ratio compares two runs a few seconds apart).
Also printed: how long ``serve`` took to answer ``/ready``, and each API worker's
resident memory once ready and after the run, beside the memory of a worker of the same
server with no champion to serve (an empty registry: the framework) and the size of the
champion's model file: the issue's limit is the framework plus 1.5 times the model.
``--fast-path both`` measures the API twice in the same run, with the fast path of
``POST /predict`` (nba_mlops.api.fastpath) and without it
(``NBA_MLOPS_SERVING__FAST_PATH=false``: every request through FastAPI's routing).
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
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import httpx
import psutil
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
FULL_HOME = ROOT.parent / "full"
BIN = Path(sys.executable).parent
PASSWORD = "bench password 123"

LUA = r"""
local bodies = %(bodies)s
local requests = {}
local index = 0

init = function(args)
  for i, body in ipairs(bodies) do
    requests[i] = wrk.format("POST", "/predict", {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer %(token)s",
    }, body)
  end
end

request = function()
  index = index %% #requests + 1
  return requests[index]
end

done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, ' ..
    '"status": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d, "mean_us": %%.1f}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def shot_bodies(n: int = 64, payload: str = "raw") -> list[str]:
    """Shot bodies spread over the court, as a client would send them: raw fields, or
    the same shots in the original project's 39-field payload."""
    if payload == "original":
        return original_bodies(n)
    bodies = []
    for i in range(n):
        shot = {
            "loc_x": (i * 37) % 480 - 240,
            "loc_y": (i * 53) % 300 - 40,
            "period": i % 4 + 1,
            "minutes_remaining": i % 12,
            "seconds_remaining": (i * 7) % 60,
            "action_type": ["Jump Shot", "Layup Shot", "Dunk Shot", "Pullup Jump shot"][i % 4],
        }
        if i % 2:
            shot["player_id"] = 201939
            shot["game_date"] = "2023-03-01"
        bodies.append(json.dumps(shot))
    return bodies


def original_bodies(n: int = 64) -> list[str]:
    """The original 39-field payload (api/schemas/shots.py's ORIGINAL_EXAMPLE) for ``n``
    shots over the court: one-hot zones left to be derived on every other shot."""
    from nba_mlops.api.schemas.shots import ONE_HOT_FIELDS, ORIGINAL_EXAMPLE

    bodies = []
    for i in range(n):
        shot = dict(ORIGINAL_EXAMPLE)
        shot.update(
            {
                "X_Location": (i * 37) % 480 - 240,
                "Y_Location": (i * 53) % 300 - 40,
                "Period": i % 4 + 1,
                "Minutes_Remaining": i % 12,
                "Seconds_Remaining": (i * 7) % 60,
                "Shot_Distance": None,
                "Year": 2023 if i % 2 else 2022,
                "Month": 3 if i % 2 else 11,
                "Day": i % 28 + 1,
            }
        )
        if i % 2:
            shot.update({name: 0 for name in ONE_HOT_FIELDS})
            shot["SeasonType_Regular_Season"] = 1
        bodies.append(json.dumps(shot))
    return bodies


def default_model_home() -> Path | None:
    """The full-data home when it has a champion (else None, and says so)."""
    if has_champion(FULL_HOME):
        return FULL_HOME
    print(
        f"no full-data champion in {FULL_HOME}: using a champion trained on the bundled "
        "sample instead (a smaller model than the production one)",
        flush=True,
    )
    return None


def has_champion(home: Path) -> bool:
    if not (home / "mlflow" / "mlflow.db").exists():
        return False
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    listed = subprocess.run(
        [str(BIN / "nba-mlops"), "models", "list", "--json"],
        env={**env, "NBA_MLOPS_HOME": str(home)},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    try:
        return listed.returncode == 0 and json.loads(listed.stdout).get("champion") is not None
    except ValueError:
        return False


def lua_list(values: list[str]) -> str:
    return "{" + ", ".join("[[" + v + "]]" for v in values) + "}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def process(
    args: list[str], env: dict[str, str], log: Path, ready_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``args`` until the block ends; the block starts once ``ready_url`` answers
    (the process's ``ready_s`` attribute: how long that took)."""
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(ready_url, timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args[0]} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        proc.ready_s = time.monotonic() - started  # type: ignore[attr-defined]
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"nba_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def stored_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM predictions").fetchone()
        return int(row[0]) if row else 0


@dataclass
class Level:
    app: str
    connections: int
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    stored: int | None

    @property
    def ok(self) -> int:
        return self.requests - self.non_2xx

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds

    @classmethod
    def from_wrk(
        cls, app: str, connections: int, stats: dict[str, Any], stored: int | None, **extra: Any
    ) -> Self:
        """One level from wrk's summary (``run_wrk``) and the rows stored meanwhile."""
        return cls(
            app=app,
            connections=connections,
            requests=stats["requests"],
            seconds=stats["duration_us"] / 1e6,
            non_2xx=stats["status"],
            socket_errors=stats["connect"] + stats["read"] + stats["write"] + stats["timeout"],
            p50_ms=stats["p50_us"] / 1000,
            p99_ms=stats["p99_us"] / 1000,
            stored=stored,
            **extra,
        )


def run_wrk(
    url: str, script: Path, connections: int, duration: float, threads: int, timeout: float
) -> dict[str, Any]:
    command = [
        "wrk",
        "-t",
        str(min(threads, connections)),
        "-c",
        str(connections),
        "-d",
        f"{duration:g}s",
        "--timeout",
        f"{timeout:g}s",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(text for text in output.splitlines() if text.startswith('{"requests"'))
    return dict(json.loads(line))


@dataclass(frozen=True)
class Bare:
    """The bare app running beside the API: where it listens and its wrk script."""

    base: str
    script: Path


def measure(
    app: str,
    base: str,
    script: Path,
    levels: list[int],
    args: argparse.Namespace,
    db_url: str | None,
    bare: Bare | None = None,
) -> list[Level]:
    """Each level ``args.rounds`` times, each run followed at once by the same level on
    the bare app (when given)."""
    results = []
    run_wrk(f"{base}/predict", script, 16, 3, args.threads, args.timeout)  # warm-up
    if bare is not None:
        run_wrk(f"{bare.base}/predict", bare.script, 16, 3, args.threads, args.timeout)
    time.sleep(1)
    for connections in levels:
        for _ in range(args.rounds):
            results.append(one_level(app, base, script, connections, args, db_url))
            if bare is not None:
                results.append(one_level("bare", bare.base, bare.script, connections, args, None))
    return results


def one_level(
    app: str,
    base: str,
    script: Path,
    connections: int,
    args: argparse.Namespace,
    db_url: str | None,
) -> Level:
    before = stored_rows(db_url) if db_url else None
    stats = run_wrk(
        f"{base}/predict", script, connections, args.duration, args.threads, args.timeout
    )
    time.sleep(1.5)  # let requests still in flight at the end finish and commit
    after = stored_rows(db_url) if db_url else None
    stored = None if before is None or after is None else after - before
    level = Level.from_wrk(app, connections, stats, stored)
    print(
        f"  {app:>12} c={connections:<5} {level.throughput:8.0f}/s  "
        f"p50 {level.p50_ms:7.1f} ms  p99 {level.p99_ms:7.1f} ms  "
        f"non-2xx {level.non_2xx}  socket errors {level.socket_errors}  "
        f"stored {stored if stored is not None else '-'} / 2xx {level.ok}",
        flush=True,
    )
    time.sleep(2)
    return level


def worker_rss_mb(proc: subprocess.Popen[bytes]) -> list[float]:
    """Resident memory of each of the server's worker processes (MB): the server's own
    children that multiprocessing spawned (a worker's helpers, such as the metrics
    refresher's process, are its children, not the server's)."""
    try:
        children = psutil.Process(proc.pid).children()
    except psutil.Error:
        return []
    sizes = []
    for child in children:
        try:
            if "multiprocessing" in " ".join(child.cmdline()) and "spawn_main" in " ".join(
                child.cmdline()
            ):
                sizes.append(child.memory_info().rss / 2**20)
        except psutil.Error:
            continue
    return sorted(sizes)


def model_file_mb(model_home: Path) -> float:
    """Size of the champion's stored model file (MB)."""
    from nba_mlops.config import Settings
    from nba_mlops.registry import Registry
    from nba_mlops.registry.serialization import stored_model_file

    registry = Registry(Settings(home=model_home, mlflow_tracking_uri=None))
    version = registry.champion_version()
    if version is None:
        return float("nan")
    # by its number: looking up "the champion" would write its pointer into that home
    folder, _ = registry.download_model(version)
    stored = stored_model_file(folder)
    return stored.stat().st_size / 2**20 if stored is not None else float("nan")


def framework_rss_mb(serve: list[str], env: dict[str, str], work: Path, base: str) -> list[float]:
    """RSS of the workers of the same server with an empty registry (no champion)."""
    empty = work / "empty-home"
    bare_env = {
        **env,
        "NBA_MLOPS_HOME": str(empty),
        "MLFLOW_TRACKING_URI": f"sqlite:///{(empty / 'mlflow.db').resolve()}",
    }
    empty.mkdir(exist_ok=True)
    with process(serve, bare_env, work / "api-empty.log", f"{base}/health") as server:
        time.sleep(5)  # its first look for a champion (none) done
        return worker_rss_mb(server)


# One process loading what a worker loads, step by step, each step's memory measured
# after the C heap is trimmed as a worker trims it after a (re)load.
MEMORY_STEPS = """
import ctypes, gc, sys
import psutil
def rss():
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return psutil.Process().memory_info().rss / 2**20
import nba_mlops.api.app
from nba_mlops.config import Settings
from nba_mlops.inference.predictor import load_model_version, model_inputs
from nba_mlops.registry import Registry
settings = Settings()
version = Registry(settings).champion_version()
model_inputs([{"loc_x": 0, "loc_y": 10}])
framework = rss()
loaded = load_model_version(settings, version)
loaded.score([{"loc_x": 0, "loc_y": 10}])
champion = rss()
loaded.model
print(framework, champion, rss(), loaded.rows is not None)
"""


def memory_steps(env: dict[str, str]) -> tuple[float, float, float, bool]:
    """(framework, with the champion, with the model itself unpickled) in MB, and whether
    the champion was scored from its bundle, in one process loading what a worker loads:
    the app, one request's features, the champion, then the model for explanations."""
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_STEPS],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    framework, champion, model, bundle = done.stdout.split()[-4:]
    return float(framework), float(champion), float(model), bundle == "True"


# Seconds after /ready before the workers' memory is measured again (a champion whose
# model loads in the background has loaded it by then).
SETTLE_S = 20.0


def start_up_before(
    serve: list[str], env: dict[str, str], work: Path, base: str, args: argparse.Namespace
) -> None:
    """The same server with an older checkout's code (``--before``), on a database of its
    own: /ready after a first start and a restart, and its workers' memory."""
    with postgres_database(args.postgres) as db_url:
        old = {
            **env,
            "PYTHONPATH": str(args.before),
            "NBA_MLOPS_HOME": str(work / "api-home-before"),
            "DATABASE_URL": db_url,
        }
        with process(serve, old, work / "api-before-first.log", f"{base}/ready") as server:
            first = server.ready_s  # type: ignore[attr-defined]
        with process(serve, old, work / "api-before.log", f"{base}/ready") as server:
            ready = server.ready_s  # type: ignore[attr-defined]
            time.sleep(2)
            at_ready = worker_rss_mb(server)
            time.sleep(SETTLE_S)
            settled = worker_rss_mb(server)
    print(
        f"before ({args.before}): /ready answered {first:.1f} s after the first start, "
        f"{ready:.1f} s after a restart; worker RSS once ready {_mb(at_ready)}; "
        f"{SETTLE_S:g} s later {_mb(settled)}"
    )


def serve_command(port: int, workers: int) -> list[str]:
    """``nba-mlops serve`` on ``port`` with ``workers`` worker processes."""
    return [str(BIN / "nba-mlops"), "serve", "--port", str(port), "--workers", str(workers)]


def serve_env(home: Path, model_home: Path, db_url: str) -> dict[str, str]:
    """What ``serve`` runs with: its own home, the champion of ``model_home``'s MLflow
    store, the database, a fresh JWT secret, quiet logs."""
    return {
        "NBA_MLOPS_HOME": str(home),
        "MLFLOW_TRACKING_URI": f"sqlite:///{(model_home / 'mlflow' / 'mlflow.db').resolve()}",
        "DATABASE_URL": db_url,
        "NBA_MLOPS_JWT_SECRET": secrets.token_urlsafe(48),
        "NBA_MLOPS_LOG_LEVEL": "WARNING",
    }


def start_up_only(args: argparse.Namespace) -> None:
    """``--start-up-only``: ``serve`` started ``--starts`` times in a row on a fresh
    database (the first start fills the home's caches, the others are restarts), with
    this checkout's code and then, with ``--before``, with the older one; /ready
    after each start. Needs no wrk."""
    with tempfile.TemporaryDirectory(prefix="nba-bench-") as tmp:
        work = Path(tmp)
        chosen = args.model_home if args.model_home is not None else default_model_home()
        model_home = trained_home(chosen, work)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = serve_command(port, args.workers)
        codes = [("after", None), ("before", args.before)] if args.before else [("after", None)]
        print(
            f"{platform.node()}, {os.cpu_count()} cores; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} "
            f"UTC; load average {os.getloadavg()[0]:.1f}; champion of {model_home}"
        )
        for code, src in codes:
            with postgres_database(args.postgres) as db_url:
                env = serve_env(work / f"api-home-{code}", model_home, db_url)
                if src is not None:
                    env["PYTHONPATH"] = str(src)
                times = []
                for start in range(args.starts):
                    log = work / f"api-{code}-{start}.log"
                    with process(serve, env, log, f"{base}/ready") as server:
                        times.append(server.ready_s)  # type: ignore[attr-defined]
                print(
                    f"{code}: /ready {times[0]:.1f} s after the first start, after each "
                    f"restart {', '.join(f'{t:.1f}' for t in times[1:])} s"
                )


def _mb(sizes: list[float]) -> str:
    return ", ".join(f"{r:,.0f} MB" for r in sizes) or "-"


def trained_home(model_home: Path | None, work: Path) -> Path:
    if model_home is not None:
        return model_home
    home = work / "model-home"
    print("training a champion on the bundled sample (pipeline) ...", flush=True)
    env = {"NBA_MLOPS_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    subprocess.run(
        [str(BIN / "nba-mlops"), "pipeline", "--sample"],
        env={**{k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}, **env},
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return home


@contextmanager
def bare_app(work: Path, args: argparse.Namespace) -> Iterator[Bare]:
    """The bare app, running until the block ends."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        str(BIN / "uvicorn"),
        "bench.bare_app:app",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--backlog",
        "4096",
    ]
    script = work / "bare.lua"
    script.write_text(
        LUA % {"bodies": lua_list(shot_bodies(payload=args.payload)), "token": "none"}
    )
    with process(command, {"PYTHONPATH": str(ROOT)}, work / "bare.log", f"{base}/docs"):
        print(f"bare app: {args.workers} workers on {base}, beside the API")
        yield Bare(base, script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--levels", default="1,64,1000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        help="seconds before wrk gives up on a request and counts it as an error (wrk's default)",
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--model-home",
        type=Path,
        default=None,
        help=f"a home with a champion (default: {FULL_HOME} when it has one, else the sample)",
    )
    parser.add_argument("--sample", action="store_true", help="train on the bundled sample")
    parser.add_argument("--payload", choices=("original", "raw"), default="original")
    parser.add_argument("--skip-bare", action="store_true")
    parser.add_argument(
        "--rounds", type=int, default=2, help="runs of each level, each beside a bare one"
    )
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="src folder of an older checkout: its start-up and memory, measured the same way",
    )
    parser.add_argument(
        "--fast-path",
        choices=("on", "off", "both"),
        default="on",
        help="serve with the fast path of POST /predict, without it, or both in turn",
    )
    parser.add_argument(
        "--start-up-only",
        action="store_true",
        help="only how long serve takes to answer /ready (no wrk needed)",
    )
    parser.add_argument("--starts", type=int, default=4, help="with --start-up-only")
    args = parser.parse_args()
    if args.start_up_only:
        start_up_only(args)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    levels = [int(v) for v in args.levels.split(",")]

    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nba-bench-")))
        chosen = args.model_home
        if chosen is None and not args.sample:
            chosen = default_model_home()
        model_home = trained_home(chosen, work)
        results: list[Level] = []
        bare = None if args.skip_bare else stack.enter_context(bare_app(work, args))
        with postgres_database(args.postgres) as db_url:
            port = free_port()
            env = serve_env(work / "api-home", model_home, db_url)
            base = f"http://127.0.0.1:{port}"
            serve = serve_command(port, args.workers)
            database = db_url.rsplit("/", 1)[1]
            print(f"API: {args.workers} workers on {base}, PostgreSQL database {database}")
            # A first start fills the home's caches (the champion's scoring bundle), as a
            # server's first start does; the start measured is the next one.
            with process(serve, env, work / "api-first.log", f"{base}/ready") as server:
                first_ready_s = server.ready_s  # type: ignore[attr-defined]
            with process(serve, env, work / "api.log", f"{base}/ready") as server:
                ready_s = server.ready_s  # type: ignore[attr-defined]
                time.sleep(2)
                rss_ready = worker_rss_mb(server)
                time.sleep(SETTLE_S)
                rss_settled = worker_rss_mb(server)
                with httpx.Client(base_url=base, timeout=30) as http:
                    http.post(
                        "/signup", json={"username": "bench", "password": PASSWORD}
                    ).raise_for_status()
                    token = http.post("/login", data={"username": "bench", "password": PASSWORD})
                    token.raise_for_status()
                    model = http.get("/models/current").json()
                script = work / "predict.lua"
                bodies = lua_list(shot_bodies(payload=args.payload))
                script.write_text(LUA % {"bodies": bodies, "token": token.json()["access_token"]})
                print(
                    f"champion: {model['name']} v{model['version']} from {model_home}; "
                    f"/ready answered {first_ready_s:.1f} s after the first start, "
                    f"{ready_s:.1f} s after a restart; {args.payload} payload"
                )
                if args.fast_path != "off":
                    results += measure("api", base, script, levels, args, db_url, bare)
                    rss = worker_rss_mb(server)
                    print(
                        f"API worker RSS once ready: {_mb(rss_ready)}; {SETTLE_S:g} s later: "
                        f"{_mb(rss_settled)}; after the run: {_mb(rss)}"
                    )
            framework = framework_rss_mb(serve, env, work, base)
            model_mb = model_file_mb(model_home)
            alone, champion_mb, unpickled, from_bundle = memory_steps(env)
            how = "scoring bundle" if from_bundle else "model"
            print(
                f"one process loading what a worker loads: the app and one request's "
                f"features {alone:,.0f} MB; + the champion ({how}) "
                f"{champion_mb - alone:+.1f} MB = {(champion_mb - alone) / model_mb:.1f} x its "
                f"{model_mb:.1f} MB model file; + the model itself (explanations, charts) "
                f"{unpickled - champion_mb:+.1f} MB"
            )
            if framework and rss_ready:
                floor = max(framework)  # largest against largest
                limit = floor + 1.5 * model_mb
                worst = max(rss_ready)
                print(
                    f"memory: workers with no champion (the framework) {_mb(framework)}; the "
                    f"champion's model file {model_mb:.1f} MB; limit {limit:,.0f} MB (framework "
                    f"+ 1.5 x model); largest worker once ready {worst:,.0f} MB = framework + "
                    f"{(worst - floor) / model_mb:.1f} x model: "
                    f"{'met' if worst <= limit else 'not met'}"
                )
            if args.before is not None:
                start_up_before(serve, env, work, base, args)
            if args.fast_path != "on":
                plain = {**env, "NBA_MLOPS_SERVING__FAST_PATH": "false"}
                with process(serve, plain, work / "api-routed.log", f"{base}/ready"):
                    print("API without the fast path (every request routed by FastAPI)")
                    results += measure("api, routed", base, script, levels, args, db_url, bare)

    print_table(results, args)


def print_table(results: list[Level], args: argparse.Namespace) -> None:
    cpus = os.cpu_count()
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()
    print(
        f"\n{dt.date.today().isoformat()}, {platform.processor() or platform.machine()}, "
        f"{cpus} cores, {memory_gib:.0f} GiB, Python {platform.python_version()}; "
        f"{args.workers} uvicorn workers, wrk {args.threads} threads and a {args.timeout:g} s "
        f"time-out, {args.duration:g} s per "
        f"level; load average after the run {load[0]:.1f}\n"
    )
    print(
        "| app | connections | predictions/s | p50 ms | p99 ms | errors (non-2xx + socket) "
        "| rows stored / 2xx | % of bare | p99 / bare p99 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r, after in zip(results, [*results[1:], None], strict=True):
        share = ratio = ""
        # measured against the bare run right after it, at the same level
        bare = (
            after if after and (after.app, after.connections) == ("bare", r.connections) else None
        )
        if r.app != "bare" and bare is not None and bare.throughput and bare.p99_ms:
            share = f"{100 * r.throughput / bare.throughput:.0f}%"
            ratio = f"{r.p99_ms / bare.p99_ms:.1f}x"
        stored = f"{r.stored:,} / {r.ok:,}" if r.stored is not None else "-"
        print(
            f"| {r.app} | {r.connections:,} | {r.throughput:,.0f} | {r.p50_ms:.1f} | "
            f"{r.p99_ms:.1f} | {r.non_2xx} + {r.socket_errors} | {stored} | {share} | {ratio} |"
        )


if __name__ == "__main__":
    main()
