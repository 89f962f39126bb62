"""Three API replicas behind HAProxy, each on its own host, act as one service: a
thousand connections at once are all answered and every answer stored, attempt limits
and revocations hold across replicas, a promotion reaches all three, and a replica that
dies mid-load costs only the requests it was working on.

Namespaces need root; elsewhere the same checks run on 127.0.0.x (conftest.py says so).
The tests share one cluster and run in this order; the last one kills a replica.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest

from tests.distributed import cluster
from tests.distributed.conftest import (
    LOGIN_FAILURE_LIMIT,
    RELOAD_INTERVAL_S,
    REPLICA_MAXCONN,
    Cluster,
)
from tests.support.api_servers import PASSWORD

# One test process for the whole module (`pytest -n 2 --dist loadgroup`): one cluster,
# and the kill last.
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("distributed")]

#: Time a replica may take to load the new champion once its poll saw the alias move
#: (under a second here; the rest is room for a busy machine).
MODEL_LOAD_ALLOWANCE_S = 3.0


@dataclass
class Outcome:
    connection: int
    started: float
    ended: float
    status: int | None  # None: the connection failed
    body: bytes = b""
    error: str = ""


@dataclass
class Load:
    outcomes: list[Outcome] = field(default_factory=list)
    opened: int = 0

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != 200]


def _shot(i: int) -> bytes:
    shot = {
        "loc_x": (i * 37) % 480 - 240,
        "loc_y": (i * 53) % 300 - 40,
        "period": i % 4 + 1,
        "minutes_remaining": i % 12,
        "seconds_remaining": (i * 7) % 60,
        "action_type": ["Jump Shot", "Layup Shot", "Dunk Shot", "Pullup Jump shot"][i % 4],
    }
    return json.dumps(shot).encode()


def run_load(
    replicas: Cluster,
    token: str,
    connections: int,
    *,
    requests_each: int | None = None,
    seconds: float | None = None,
) -> Load:
    """``connections`` clients, each on its own connection to the balancer, all opened
    before the first request; each sends ``requests_each`` predictions, or sends them
    until ``seconds`` have passed."""
    host = f"{replicas.lb.address}:{replicas.ports.lb}"
    load = Load()

    async def client(index: int, conn: cluster.Connection, start: asyncio.Event) -> None:
        await start.wait()
        stop_at = time.monotonic() + seconds if seconds is not None else None
        sent = 0
        while (requests_each is None or sent < requests_each) and (
            stop_at is None or time.monotonic() < stop_at
        ):
            raw = cluster.http_request(
                "POST", "/predict", host, _shot(index * 1000 + sent),
                Authorization=f"Bearer {token}", Content_Type="application/json",
            )  # fmt: skip
            began = time.monotonic()
            try:
                status, body = await asyncio.wait_for(conn.send(raw), timeout=60)
                load.outcomes.append(Outcome(index, began, time.monotonic(), status, body))
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as e:
                load.outcomes.append(Outcome(index, began, time.monotonic(), None, error=repr(e)))
                await conn.close()
            sent += 1
        await conn.close()

    async def main() -> None:
        conns = [cluster.Connection(replicas.lb.address, replicas.ports.lb)
                 for _ in range(connections)]  # fmt: skip
        await asyncio.gather(*(c.open() for c in conns))
        load.opened = len(conns)
        start = asyncio.Event()
        tasks = [asyncio.create_task(client(i, c, start)) for i, c in enumerate(conns)]
        start.set()
        await asyncio.gather(*tasks)

    asyncio.run(main())
    return load


def sign_up(url: str, username: str | None = None) -> tuple[str, dict[str, str]]:
    username = username or f"dist_{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=url, timeout=60) as http:
        created = http.post("/signup", json={"username": username, "password": PASSWORD})
        assert created.status_code == 201, created.text
        token = http.post("/login", data={"username": username, "password": PASSWORD})
        assert token.status_code == 200, token.text
    return username, {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_a_thousand_connections_are_all_answered_and_stored(replicas: Cluster) -> None:
    _, headers = sign_up(replicas.url)
    token = headers["Authorization"].removeprefix("Bearer ")
    before = replicas.stats()
    started = time.monotonic()
    load = run_load(replicas, token, 1000, requests_each=2)
    took = time.monotonic() - started
    assert load.opened == 1000
    errors = [(o.status, o.error or o.body[:200]) for o in load.failures]
    assert not errors, f"{len(errors)} of {len(load.outcomes)} failed, e.g. {errors[:5]}"
    assert len(load.outcomes) == 2000
    ids = {json.loads(o.body)["prediction_id"] for o in load.outcomes}
    assert len(ids) == 2000
    with psycopg.connect(replicas.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM predictions WHERE id = ANY(%s)", (sorted(ids),)
        ).fetchone()
    assert row is not None and row[0] == 2000, f"{2000 - (row[0] if row else 0)} rows lost"
    after = replicas.stats()
    assert int(after[("api", "FRONTEND")]["smax"]) >= 1000  # all at once through the balancer
    served = {
        h.name: int(after[("api", h.name)]["stot"]) - int(before[("api", h.name)]["stot"])
        for h in replicas.replicas
    }
    assert all(n > 0 for n in served.values()), served  # spread over the three
    print(f"2,000 predictions over 1,000 connections in {took:.1f} s; per replica {served}")


def test_failed_logins_spread_over_replicas_hit_one_limit(replicas: Cluster) -> None:
    username, _ = sign_up(replicas.url)
    wrong = {"username": username, "password": "not the password at all"}
    answers = []
    for host in replicas.replicas:  # one failure on each replica, directly
        answers.append(httpx.post(f"{replicas.replica_url(host)}/login", data=wrong).status_code)
    assert answers == [401] * LOGIN_FAILURE_LIMIT, answers
    # Through the balancer, with a made-up X-Forwarded-For: the balancer replaces it with
    # the client's address, so the limit still holds.
    for _ in range(3):
        spoofed = {"X-Forwarded-For": f"198.51.100.{random.randint(1, 254)}"}
        refused = httpx.post(f"{replicas.url}/login", data=wrong, headers=spoofed)
        assert refused.status_code == 429, refused.text
    for host in replicas.replicas:  # the right password waits too, wherever it lands
        right = httpx.post(
            f"{replicas.replica_url(host)}/login", data={**wrong, "password": PASSWORD}
        )
        assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0


def test_a_password_change_revokes_the_token_on_every_replica(replicas: Cluster) -> None:
    username, headers = sign_up(replicas.url)
    for host in replicas.replicas:  # every replica now holds the account in its cache
        assert httpx.get(f"{replicas.replica_url(host)}/predictions", headers=headers).is_success
    changed = replicas.cli(
        replicas.replicas[0], "users", "set-password", username, "--password-stdin",
        stdin="a quite different passphrase",
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    assert "announced to running servers" in changed.stdout
    deadline = time.monotonic() + 5
    pending = list(replicas.replicas)
    while pending:
        pending = [
            host
            for host in pending
            if httpx.get(f"{replicas.replica_url(host)}/predictions", headers=headers).status_code
            != 401
        ]
        assert not pending or time.monotonic() < deadline, f"still accepted by {pending}"
        time.sleep(0.05)
    assert httpx.get(f"{replicas.url}/predictions", headers=headers).status_code == 401


def test_a_promotion_reaches_every_replica(replicas: Cluster) -> None:
    def versions() -> dict[str, str]:
        return {
            host.name: httpx.get(f"{replicas.replica_url(host)}/models/current", timeout=10).json()[
                "version"
            ]
            for host in replicas.replicas
        }

    assert set(versions().values()) == {"1"}
    promoted = replicas.cli(replicas.replicas[1], "models", "promote", "2", "--reason", "test")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    moved = time.monotonic()
    limit = RELOAD_INTERVAL_S + MODEL_LOAD_ALLOWANCE_S
    seen = versions()
    while set(seen.values()) != {"2"}:
        assert time.monotonic() - moved < limit, f"after {limit:.0f} s: {seen}"
        time.sleep(0.1)
        seen = versions()
    took = time.monotonic() - moved
    _, headers = sign_up(replicas.url)
    answer = httpx.post(f"{replicas.url}/predict", json=json.loads(_shot(1)), headers=headers)
    assert answer.json()["model_version"] == "2"
    print(f"version 2 served by all three {took:.1f} s after the promotion")


def _connections_to(replicas: Cluster, host: cluster.Host) -> int:
    """Established TCP connections from the balancer to ``host``'s API port, as the
    balancer's host sees them (requests in flight and idle keep-alive ones alike)."""
    listed = subprocess.run(
        replicas.lb.command(
            ["ss", "-Htn", "state", "established",
             f"( src {replicas.lb.address} and dst {host.address}:{replicas.ports.api} )"]
        ),
        capture_output=True, text=True, check=True, timeout=10,
    ).stdout  # fmt: skip
    return len([line for line in listed.splitlines() if line.strip()])


def test_a_replica_killed_mid_load_costs_only_its_requests(replicas: Cluster) -> None:
    _, headers = sign_up(replicas.url)
    token = headers["Authorization"].removeprefix("Bearer ")
    victim = replicas.replicas[-1]
    balancer = replicas.processes["lb"]
    killed: dict[str, float] = {}

    def kill_later() -> None:
        time.sleep(3.0)
        in_service = int(replicas.stats()[("api", victim.name)]["scur"])
        # The balancer is paused for the few milliseconds of the count and the kill, so
        # no connection to the victim opens or closes between them: the count is exact.
        os.kill(balancer.pid, signal.SIGSTOP)
        try:
            connections = _connections_to(replicas, victim)
            cluster.stop(replicas.processes[victim.name], sig=signal.SIGKILL)
        finally:
            os.kill(balancer.pid, signal.SIGCONT)
        killed.update(at=time.monotonic(), connections=connections, in_service=in_service)

    killer = threading.Thread(target=kill_later)
    killer.start()
    # More clients than the replicas take at once: each replica works on its maxconn
    # requests all the time (the rest queue in HAProxy), the victim included.
    load = run_load(replicas, token, 3 * REPLICA_MAXCONN + 60, seconds=10.0)
    killer.join()
    stats = replicas.stats()
    failures = load.failures
    summary = {
        "requests": len(load.outcomes),
        "failed": len(failures),
        "connections to the killed replica": killed["connections"],
        "requests it was serving (HAProxy)": killed["in_service"],
    }
    assert 0 < killed["in_service"] <= REPLICA_MAXCONN, summary
    # Only requests on connections to the victim fail: the ones it was working on, and
    # at most one more per idle keep-alive connection a request was being sent on.
    assert len(failures) <= killed["connections"], summary
    assert all(o.started <= killed["at"] + 0.5 for o in failures), summary
    after = [o for o in load.outcomes if o.started > killed["at"] + 1.0]
    assert after and all(o.status == 200 for o in after), summary
    assert stats[("api", victim.name)]["status"].startswith("DOWN"), stats[("api", victim.name)]
    print(f"killed {victim.name} mid-load: {summary}")
