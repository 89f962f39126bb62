"""Sign-up flood: /predict latency and the server's memory while 160 sign-ups arrive at once.

    uv run python bench/bench_signup_flood.py [--workers 2] [--burst 160] [--seconds 10]
                                              [--model-home DIR] [--postgres URL]

Starts ``nba-mlops serve`` (PostgreSQL, ``--workers`` processes, default settings except
that 127.0.0.1 is a trusted proxy, so this script can speak for many client addresses
with X-Forwarded-For). While a steady /predict load runs (``--predictors`` clients, one
request after another), bursts of ``--burst`` concurrent sign-ups are sent, one burst
after another, for ``--seconds``:

* from one address: the sign-up limit per address answers 429 after the first few;
* from a new address per sign-up: no limit applies, so the bounded password hashing per
  worker process is all that holds (201 for those hashed, 503 + Retry-After for the rest).

Printed per phase (quiet, one address, many addresses): /predict p50/p99/max and
errors, sign-up answers by status, and the peak memory (RSS) of the serving processes
summed (supervisor, workers, metrics helper) and of the largest worker.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import (
    free_port,
    postgres_database,
    process,
    serve_command,
    serve_env,
    shot_bodies,
    trained_home,
)

PASSWORD = "a bench passphrase for signing up"


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    predict_errors: int = 0
    signups: collections.Counter[int] = field(default_factory=collections.Counter)
    peak_total_mb: float = 0.0
    peak_worker_mb: float = 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        return statistics.quantiles(self.latencies_ms, n=1000, method="inclusive")[
            min(999, int(q * 1000)) - 1
        ]


class MemoryWatch:
    """Samples the RSS of the serve process and all its descendants every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.phase: Phase | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            phase = self.phase
            if phase is None:
                continue
            sizes = []
            for proc in [self.root, *self.root.children(recursive=True)]:
                try:
                    sizes.append(proc.memory_info().rss / 2**20)
                except psutil.Error:
                    continue
            if sizes:
                phase.peak_total_mb = max(phase.peak_total_mb, sum(sizes))
                phase.peak_worker_mb = max(phase.peak_worker_mb, max(sizes))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


async def predict_load(base: str, token: str, phase: Phase, stop: asyncio.Event) -> None:
    bodies = shot_bodies()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        i = 0
        while not stop.is_set():
            started = time.perf_counter()
            try:
                response = await http.post(
                    "/predict", content=bodies[i % len(bodies)], headers=headers
                )
                if response.status_code != 200:
                    phase.predict_errors += 1
            except httpx.HTTPError:
                phase.predict_errors += 1
            phase.latencies_ms.append((time.perf_counter() - started) * 1000)
            i += 1


async def signup_bursts(
    base: str, burst: int, seconds: float, many_addresses: bool
) -> collections.Counter[int]:
    statuses: collections.Counter[int] = collections.Counter()
    limits = httpx.Limits(max_connections=burst + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        deadline = time.monotonic() + seconds
        wave = 0
        while time.monotonic() < deadline:
            wave += 1

            async def one(n: int, wave: int = wave) -> None:
                address = f"10.{wave % 250}.{n // 250}.{n % 250}"
                body = {"username": f"fl_{secrets.token_hex(6)}", "password": PASSWORD}
                headers = {"X-Forwarded-For": address if many_addresses else "10.255.0.1"}
                try:
                    response = await http.post("/signup", json=body, headers=headers)
                    statuses[response.status_code] += 1
                except httpx.HTTPError:
                    statuses[0] += 1

            await asyncio.gather(*(one(n) for n in range(burst)))
    return statuses


def flood(base: str, burst: int, seconds: float, many: bool, results: mp.Queue) -> None:  # type: ignore[type-arg]
    """In its own process, so that the /predict client's timings are not its own."""
    results.put(dict(asyncio.run(signup_bursts(base, burst, seconds, many))))


async def run_phase(
    base: str, token: str, watch: MemoryWatch, phase: Phase, args: argparse.Namespace
) -> Phase:
    stop = asyncio.Event()
    watch.phase = phase
    loads = [
        asyncio.create_task(predict_load(base, token, phase, stop)) for _ in range(args.predictors)
    ]
    if phase.name == "quiet":
        await asyncio.sleep(args.seconds)
    else:
        results: mp.Queue = mp.Queue()  # type: ignore[type-arg]
        many = phase.name == "many addresses"
        flooder = mp.Process(target=flood, args=(base, args.burst, args.seconds, many, results))
        flooder.start()
        while flooder.is_alive() and results.empty():
            await asyncio.sleep(0.1)
        phase.signups.update(await asyncio.to_thread(results.get, True, 120))
        flooder.join(30)
    stop.set()
    await asyncio.gather(*loads)
    watch.phase = None
    return phase


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--burst", type=int, default=160)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--predictors", type=int, default=4, help="concurrent /predict clients")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--model-home", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nba-bench-flood-") as tmp:
        work = Path(tmp)
        model_home = trained_home(args.model_home, work)
        with postgres_database(args.postgres) as db_url:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = serve_env(work / "api-home", model_home, db_url)
            env["NBA_MLOPS_SERVING__TRUSTED_PROXIES"] = json.dumps(["127.0.0.1"])
            serve = serve_command(port, args.workers)
            print(f"API: {args.workers} workers on {base}; bursts of {args.burst} sign-ups")
            with process(serve, env, work / "api.log", f"{base}/ready"):
                server = next(
                    p
                    for p in psutil.process_iter(["cmdline"])
                    if p.info["cmdline"]
                    and str(port) in p.info["cmdline"]
                    and "serve" in p.info["cmdline"]
                )
                with httpx.Client(base_url=base, timeout=30) as http:
                    http.post(
                        "/signup", json={"username": "bench", "password": PASSWORD}
                    ).raise_for_status()
                    login = http.post("/login", data={"username": "bench", "password": PASSWORD})
                    login.raise_for_status()
                    token = login.json()["access_token"]
                watch = MemoryWatch(server.pid)
                phases = []
                for name in ("quiet", "one address", "many addresses"):
                    phases.append(asyncio.run(run_phase(base, token, watch, Phase(name), args)))
                    time.sleep(2)
                watch.stop()
    print(
        f"\n{os.cpu_count()} cores; {args.workers} workers; {args.predictors} /predict clients; "
        f"bursts of {args.burst} sign-ups for {args.seconds:g} s per phase\n"
    )
    print(
        "| phase | /predict p50 ms | p99 ms | max ms | /predict errors | sign-ups by status "
        "| peak RSS all processes MB | peak RSS one process MB |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for p in phases:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(p.signups.items())) or "-"
        print(
            f"| {p.name} | {p.percentile(0.5):.1f} | {p.percentile(0.99):.1f} | "
            f"{max(p.latencies_ms):.1f} | {p.predict_errors} | {statuses} | "
            f"{p.peak_total_mb:.0f} | {p.peak_worker_mb:.0f} |"
        )


if __name__ == "__main__":
    main()
