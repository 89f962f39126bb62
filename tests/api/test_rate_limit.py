"""Login attempts are limited per username and per client address (429 + Retry-After)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_servers import PASSWORD, LiveServer, api_settings, run_server, sign_up, unique_name


@pytest.fixture(scope="module")
def limited(model_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("limited")
    settings = api_settings(
        model_home,
        f"sqlite:///{home / 'app.db'}",
        login_attempts_per_minute=3,
        login_attempts_per_address_per_minute=6,
    )
    with run_server(settings) as server:
        yield server


def test_too_many_attempts_for_one_username(limited: LiveServer) -> None:
    with limited.client(headers={"X-Forwarded-For": "10.0.0.1"}) as http:
        account = sign_up(http)  # one successful login counts too
        for _ in range(2):
            wrong = {"username": account.username, "password": "wrong-password"}
            assert http.post("/login", data=wrong).status_code == 401
        refused = http.post("/login", data={"username": account.username, "password": PASSWORD})
        assert refused.status_code == 429
        assert "username" in refused.json()["detail"]
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 60
    # Another client address is refused for this username as well.
    with limited.client(headers={"X-Forwarded-For": "10.0.0.2"}) as http:
        again = http.post("/login", data={"username": account.username, "password": PASSWORD})
        assert again.status_code == 429


def test_too_many_attempts_from_one_address(limited: LiveServer) -> None:
    with limited.client(headers={"X-Forwarded-For": "10.0.0.3"}) as http:
        for _ in range(6):
            attempt = {"username": unique_name(), "password": "whatever-1"}
            assert http.post("/login", data=attempt).status_code == 401
        refused = http.post("/login", data={"username": unique_name(), "password": "x"})
        assert refused.status_code == 429
        assert "address" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) >= 1
    with limited.client(headers={"X-Forwarded-For": "10.0.0.4"}) as http:
        other = http.post("/login", data={"username": unique_name(), "password": "x"})
        assert other.status_code == 401
