"""Two API replicas sharing PostgreSQL and Redis behave as one service: attempt limits
count across them, and an account changed from the command line is noticed by both at
once (long before their status caches would expire)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from nba_mlops.config import Settings
from tests.support.api_servers import (
    PASSWORD,
    LiveServer,
    api_settings,
    postgres_database,
    run_server,
    sign_up,
)
from tests.support.prerequisites import REDIS_URL, redis_url

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLI = str(Path(sys.executable).with_name("nba-mlops"))


@pytest.fixture(scope="module")
def replicas(model_home: Path) -> Iterator[list[LiveServer]]:
    """Two replicas; status caches that would keep a user for ten minutes, so only the
    news from Redis can explain a change noticed sooner."""
    redis_url()
    with postgres_database("nba_replicas") as url, ExitStack() as stack:
        settings = api_settings(
            model_home, url, user_cache_ttl_s=600.0, login_failure_limits="3/minute"
        ).model_copy(update={"redis_url": REDIS_URL})
        servers = [stack.enter_context(run_server(settings)) for _ in range(2)]
        for server in servers:
            news = server.services.news
            assert news is not None
            deadline = time.monotonic() + 10
            while not news.subscribed.is_set():
                assert time.monotonic() < deadline, "a replica did not subscribe to the news"
                time.sleep(0.05)
        yield servers


def _cli(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_MLOPS_")}
    env.update(
        NBA_MLOPS_HOME=str(settings.home),
        DATABASE_URL=str(settings.database_url),
        REDIS_URL=REDIS_URL,
    )
    return subprocess.run(
        [CLI, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def _refused_on_both(replicas: list[LiveServer], headers: dict[str, str], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    pending = list(replicas)
    while pending:
        pending = [
            server
            for server in pending
            if server.client().get("/predictions", headers=headers).status_code != 401
        ]
        assert not pending or time.monotonic() < deadline, (
            f"{len(pending)} replica(s) still took the revoked token after {within_s} s"
        )
        time.sleep(0.05)


def test_a_password_change_revokes_the_token_on_every_replica(
    replicas: list[LiveServer],
) -> None:
    first, second = replicas
    with first.client() as http:
        account = sign_up(http)
    for server in replicas:  # both now hold the account's status in their caches
        with server.client() as http:
            assert http.get("/predictions", headers=account.headers).status_code == 200
    changed = _cli(
        first.settings,
        "users",
        "set-password",
        account.username,
        "--password-stdin",
        stdin="a quite different passphrase",
    )
    assert changed.returncode == 0, changed.stderr
    assert "announced to running servers" in changed.stdout
    _refused_on_both(replicas, account.headers, within_s=5.0)
    response = second.client().get("/predictions", headers=account.headers)
    assert "revoked" in response.json()["detail"]


def test_a_disabled_account_is_refused_on_every_replica(replicas: list[LiveServer]) -> None:
    with replicas[1].client() as http:
        account = sign_up(http)
    for server in replicas:
        assert server.client().get("/predictions", headers=account.headers).status_code == 200
    assert _cli(replicas[0].settings, "users", "disable", account.username).returncode == 0
    deadline = time.monotonic() + 5
    for server in replicas:
        while server.client().get("/predictions", headers=account.headers).status_code != 403:
            assert time.monotonic() < deadline, "a replica still served a disabled account"
            time.sleep(0.05)


def test_failed_logins_spread_over_replicas_hit_one_limit(replicas: list[LiveServer]) -> None:
    """Three failures allowed per minute for a name and address, wherever they land."""
    with replicas[0].client() as http:
        account = sign_up(http, f"spread_{uuid.uuid4().hex[:8]}")
    answers = []
    for attempt in range(5):
        with replicas[attempt % 2].client() as http:
            answers.append(
                http.post(
                    "/login", data={"username": account.username, "password": "wrong " * 3}
                ).status_code
            )
    assert answers == [401, 401, 401, 429, 429], answers
    # the right password waits too, on either replica: the limit is the deployment's
    for server in replicas:
        with server.client() as http:
            refused = http.post("/login", data={"username": account.username, "password": PASSWORD})
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) > 0


def test_without_redis_a_change_is_noticed_within_the_cache_lifetime(model_home: Path) -> None:
    """No REDIS_URL: the command says when servers notice, and nothing listens."""
    with postgres_database("nba_no_redis") as url:
        settings = api_settings(model_home, url, user_cache_ttl_s=0.2)
        with run_server(settings) as server, server.client() as http:
            assert server.services.news is None
            account = sign_up(http)
            env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
            env.update(NBA_MLOPS_HOME=str(settings.home), DATABASE_URL=url)
            changed = subprocess.run(
                [CLI, "users", "revoke-tokens", account.username],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
            )
            assert changed.returncode == 0, changed.stderr
            assert "running servers notice within" in changed.stdout
            deadline = time.monotonic() + 5
            while http.get("/predictions", headers=account.headers).status_code != 401:
                assert time.monotonic() < deadline
                time.sleep(0.05)
