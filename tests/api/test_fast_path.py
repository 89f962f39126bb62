"""The fast path for POST /predict answers exactly like the regular route."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import HTTPException

from nba_mlops.api import deps
from nba_mlops.auth.tokens import TokenCodec
from nba_mlops.auth.users import UserStatus, revoke_tokens, set_disabled
from tests.support.api_servers import (
    JWT_SECRET,
    LiveServer,
    api_settings,
    run_server,
    sign_up,
    unique_name,
)
from tests.support.payloads import ORIGINAL_README_PAYLOAD

BODIES: list[tuple[str, bytes]] = [
    ("minimal", b'{"loc_x": 0, "loc_y": 10}'),
    (
        "full",
        b'{"loc_x": -220, "loc_y": 40, "period": 5, "action_type": "Dunk Shot", '
        b'"is_home": true, "game_date": "2022-06-16", "player_id": 201939}',
    ),
    ("original", httpx.Request("POST", "/", json=ORIGINAL_README_PAYLOAD).content),
    ("off the court", b'{"loc_x": 251, "loc_y": 0}'),
    ("NaN", b'{"loc_x": NaN, "loc_y": 0}'),
    ("malformed", b'{"loc_x": 0,'),
    ("unknown field", b'{"loc_x": 0, "loc_y": 0, "foo": 1}'),
    ("lone surrogate", b'{"loc_x": 0, "loc_y": 0, "player_name": "\\ud800"}'),
    ("list", b"[]"),
]


@pytest.fixture(scope="module")
def regular(model_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The same API with the fast path off: every request takes the FastAPI route."""
    home = tmp_path_factory.mktemp("regular")
    settings = api_settings(model_home, f"sqlite:///{home / 'app.db'}", fast_path=False)
    with run_server(settings) as server:
        yield server


def _call(server: LiveServer, body: bytes, headers: dict[str, str]) -> httpx.Response:
    with server.client() as http:
        return http.post("/predict", content=body, headers=headers)


def _comparable(response: httpx.Response) -> tuple[int, Any]:
    body = response.json()
    if isinstance(body, dict):
        body.pop("prediction_id", None)  # ids differ between the two databases
    return response.status_code, body


@pytest.mark.parametrize(("name", "body"), BODIES, ids=[b[0] for b in BODIES])
def test_same_answers_with_and_without_the_fast_path(
    live: LiveServer, regular: LiveServer, name: str, body: bytes
) -> None:
    assert live.settings.serving.fast_path and not regular.settings.serving.fast_path
    answers = []
    for server in (live, regular):
        with server.client() as http:
            account = sign_up(http)
        headers = {"Content-Type": "application/json", **account.headers}
        answers.append(_comparable(_call(server, body, headers)))
    assert answers[0] == answers[1], name


def test_auth_failures_are_the_same(live: LiveServer, regular: LiveServer) -> None:
    expired = TokenCodec(JWT_SECRET, 60).issue(1, "someone", ttl_s=-5)
    for headers in [
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ]:
        full = {"Content-Type": "application/json", **headers}
        body = b'{"loc_x": 0, "loc_y": 10}'
        assert _comparable(_call(live, body, full)) == _comparable(_call(regular, body, full))


def test_revoked_and_disabled_accounts_are_refused_the_same(
    live: LiveServer, regular: LiveServer
) -> None:
    body = b'{"loc_x": 0, "loc_y": 10}'
    answers: dict[str, list[tuple[int, Any]]] = {"revoked": [], "disabled": []}
    for server in (live, regular):
        with server.client() as http:
            revoked, disabled = sign_up(http), sign_up(http)
        with server.services.db.session() as session:
            revoke_tokens(session, revoked.username)
            set_disabled(session, disabled.username, True)
        time.sleep(server.settings.serving.user_cache_ttl_s + 0.1)  # the status cache's life
        for name, account in (("revoked", revoked), ("disabled", disabled)):
            headers = {"Content-Type": "application/json", **account.headers}
            answers[name].append(_comparable(_call(server, body, headers)))
    assert answers["revoked"][0] == answers["revoked"][1]
    assert answers["revoked"][0][0] == 401 and "revoked" in answers["revoked"][0][1]["detail"]
    assert answers["disabled"][0] == answers["disabled"][1]
    assert answers["disabled"][0] == (403, {"detail": "This account is disabled"})


def test_both_paths_share_one_check(
    live: LiveServer, regular: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule added to ``deps.authenticate`` (here: a blocked name prefix) applies on the
    fast path and on the regular route alike, with no change to either."""
    original = deps.authenticate
    calls: list[str | None] = []

    async def with_a_new_rule(services: Any, token: str | None) -> UserStatus:
        calls.append(token)
        user = await original(services, token)
        if user.username.startswith("blocked_"):
            raise HTTPException(403, detail="Blocked by a new rule")
        return user

    monkeypatch.setattr(deps, "authenticate", with_a_new_rule)
    body = b'{"loc_x": 0, "loc_y": 10}'
    for server, checks in ((live, 2), (regular, 1)):
        with server.client() as http:
            blocked = sign_up(http, unique_name("blocked"))
            allowed = sign_up(http)
        calls.clear()
        refused = _call(server, body, {"Content-Type": "application/json", **blocked.headers})
        assert _comparable(refused) == (403, {"detail": "Blocked by a new rule"})
        # With the fast path on, it asked the same function, then handed the request to
        # the regular route, which asked it again.
        assert calls == [blocked.token] * checks
        calls.clear()
        accepted = _call(server, body, {"Content-Type": "application/json", **allowed.headers})
        assert accepted.status_code == 200
        assert calls == [allowed.token]


def test_fast_answers_are_stored_and_counted(live: LiveServer) -> None:
    with live.client() as http:
        account = sign_up(http)
        response = http.post("/predict", json={"loc_x": 5, "loc_y": 5}, headers=account.headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        history = http.get("/predictions", headers=account.headers).json()
        assert history["items"][0]["prediction_id"] == response.json()["prediction_id"]
        metrics = http.get("/metrics").text
    assert 'nba_http_requests_total{method="POST",route="/predict",status="200"}' in metrics


def test_cors_headers_also_on_fast_answers(model_home: Path, tmp_path: Path) -> None:
    origin = "http://court.example"
    settings = api_settings(model_home, f"sqlite:///{tmp_path / 'app.db'}", cors_origins=[origin])
    with run_server(settings) as server, server.client() as http:
        account = sign_up(http)
        preflight = http.options(
            "/predict",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        answer = http.post(
            "/predict",
            json={"loc_x": 0, "loc_y": 10},
            headers={**account.headers, "Origin": origin},
        )
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == origin
        other = http.post(
            "/predict",
            json={"loc_x": 0, "loc_y": 10},
            headers={**account.headers, "Origin": "http://evil.example"},
        )
        assert "access-control-allow-origin" not in other.headers
