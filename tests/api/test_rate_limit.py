"""Sign-ups and logins are limited per client address, failed logins per username and
address (429 + Retry-After); the client address comes from X-Forwarded-For only when the
peer is a trusted proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api_servers import (
    PASSWORD,
    LiveServer,
    api_settings,
    run_server,
    sign_up,
    unique_name,
)

LIMITS = {
    "signup_limits": "3/minute",
    "login_limits": "8/minute",
    "login_failure_limits": "3/minute;4/hour",
}


def _server(model_home: Path, home: Path, **serving: object) -> Iterator[LiveServer]:
    settings = api_settings(model_home, f"sqlite:///{home / 'app.db'}", **LIMITS, **serving)
    with run_server(settings) as server:
        yield server


@pytest.fixture(scope="module")
def behind_proxy(
    model_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Clients reach the API through a reverse proxy on 127.0.0.1."""
    yield from _server(
        model_home, tmp_path_factory.mktemp("proxied"), trusted_proxies=["127.0.0.1"]
    )


@pytest.fixture(scope="module")
def direct(model_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """No proxy is trusted (the default)."""
    yield from _server(model_home, tmp_path_factory.mktemp("direct"))


def _from(server: LiveServer, address: str) -> httpx.Client:
    return server.client(headers={"X-Forwarded-For": address})


def _login(http: httpx.Client, username: str, password: str) -> httpx.Response:
    return http.post("/login", data={"username": username, "password": password})


def test_guessing_from_one_address_never_locks_the_owner_out(behind_proxy: LiveServer) -> None:
    with _from(behind_proxy, "10.0.0.9") as owner:
        account = sign_up(owner)
    with _from(behind_proxy, "10.0.0.1") as attacker:
        for _ in range(3):
            assert _login(attacker, account.username, "wrong-password").status_code == 401
        refused = _login(attacker, account.username, PASSWORD)  # even the right one, from here
        assert refused.status_code == 429
        assert "failed logins for this username from this address" in refused.json()["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # Other spellings of the name count as the same username.
        assert _login(attacker, account.username.upper(), PASSWORD).status_code == 429
    with _from(behind_proxy, "10.0.0.2") as owner:
        assert _login(owner, account.username, PASSWORD).status_code == 200


def test_the_owner_s_success_clears_their_own_failures(behind_proxy: LiveServer) -> None:
    with _from(behind_proxy, "10.0.0.3") as http:
        account = sign_up(http)
        for _ in range(2):
            assert _login(http, account.username, "wrong-password").status_code == 401
        assert _login(http, account.username, PASSWORD).status_code == 200
        for _ in range(2):
            assert _login(http, account.username, "wrong-password").status_code == 401
        assert _login(http, account.username, PASSWORD).status_code == 200


def test_too_many_logins_from_one_address(behind_proxy: LiveServer) -> None:
    with _from(behind_proxy, "10.0.0.4") as http:
        for _ in range(8):
            attempt = {"username": unique_name(), "password": "whatever-1"}
            assert http.post("/login", data=attempt).status_code == 401
        refused = http.post("/login", data={"username": unique_name(), "password": "x"})
        assert refused.status_code == 429
        assert "from this address" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) >= 1
    with _from(behind_proxy, "10.0.0.5") as http:
        other = http.post("/login", data={"username": unique_name(), "password": "x"})
        assert other.status_code == 401


def test_sign_ups_are_limited_per_address(behind_proxy: LiveServer) -> None:
    body = {"password": PASSWORD}
    with _from(behind_proxy, "10.0.1.1") as http:
        for _ in range(3):
            assert http.post("/signup", json={**body, "username": unique_name()}).status_code == 201
        refused = http.post("/signup", json={**body, "username": unique_name()})
        assert refused.status_code == 429
        assert "sign-ups from this address" in refused.json()["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
    with _from(behind_proxy, "10.0.1.2") as http:
        assert http.post("/signup", json={**body, "username": unique_name()}).status_code == 201


def test_forwarded_addresses_from_an_untrusted_peer_are_ignored(direct: LiveServer) -> None:
    """Without a trusted proxy, a client cannot dodge the limit by inventing addresses."""
    body = {"password": PASSWORD}
    for n in range(3):
        with _from(direct, f"10.0.2.{n}") as http:
            assert http.post("/signup", json={**body, "username": unique_name()}).status_code == 201
    with _from(direct, "10.0.2.99") as http:
        refused = http.post("/signup", json={**body, "username": unique_name()})
        assert refused.status_code == 429


@pytest.fixture(scope="module")
def one_hash_at_a_time(
    model_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """No sign-up limit; one password hashed at a time per process, none waiting."""
    settings = api_settings(
        model_home,
        f"sqlite:///{tmp_path_factory.mktemp('one-hash') / 'app.db'}",
        password_hash_concurrency=1,
        password_hash_queue=0,
    )
    with run_server(settings) as server:
        yield server


def test_a_sign_up_flood_gets_a_quick_503_beyond_the_hashing_bound(
    one_hash_at_a_time: LiveServer,
) -> None:
    """Where no address limit holds (many addresses), the bound on concurrent password
    hashing answers the excess at once instead of queueing it behind the CPU."""
    from concurrent.futures import ThreadPoolExecutor

    def sign_up_one(_: int) -> httpx.Response:
        with one_hash_at_a_time.client() as http:
            return http.post("/signup", json={"username": unique_name(), "password": PASSWORD})

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(sign_up_one, range(16)))

    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 503}, statuses
    busy = [a for a in answers if a.status_code == 503]
    assert busy, statuses
    assert all(int(a.headers["retry-after"]) >= 1 for a in busy)
    assert all("busy checking passwords" in a.json()["detail"] for a in busy)
    with one_hash_at_a_time.client() as http:  # once the flood is over, sign-ups work
        assert sign_up(http).username


def test_a_burst_of_concurrent_guesses_gets_no_more_checks_than_the_limit(
    behind_proxy: LiveServer,
) -> None:
    """Failed logins are counted before the password is checked: guesses sent at once
    are not all checked before the first failure is recorded (the limit is 3/minute)."""
    from concurrent.futures import ThreadPoolExecutor

    with _from(behind_proxy, "10.0.0.76") as owner:
        account = sign_up(owner)
    with _from(behind_proxy, "10.0.0.77") as attacker, ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda i: _login(attacker, account.username, f"guess {i}"), range(8))
        )
    codes = sorted(answer.status_code for answer in answers)
    assert codes.count(401) == 3, codes
    assert set(codes) <= {401, 429, 503}, codes
