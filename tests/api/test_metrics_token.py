"""``/metrics`` counts users and predictions: open by default, behind a bearer token when
``serving.metrics_token`` (or ``metrics_token_file``) is set, on the API and the service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nba_mlops.api.service_app import create_service_app
from tests.support.api_servers import LiveServer, api_settings, run_server
from tests.support.coroutines import run

TOKEN = "metrics-token-for-tests-" + "m" * 16


@pytest.fixture(scope="module")
def guarded(model_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("metrics")
    settings = api_settings(model_home, f"sqlite:///{home / 'app.db'}", metrics_token=TOKEN)
    with run_server(settings) as server:
        yield server


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "nba_" not in response.text


def test_metrics_need_the_token_when_one_is_set(guarded: LiveServer) -> None:
    with guarded.client() as http:
        _refused(http.get("/metrics"))
        _refused(http.get("/metrics", headers={"Authorization": "Bearer wrong-token"}))
        _refused(http.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}))
        scraped = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert scraped.status_code == 200
        assert "nba_http_requests_total" in scraped.text
        assert http.get("/health").status_code == 200  # nothing else changes


def test_metrics_are_open_without_a_token(client: httpx.Client) -> None:
    assert client.get("/metrics").status_code == 200


def test_the_prediction_service_reads_the_token_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "metrics_token"
    secret.write_text(TOKEN + "\n", encoding="utf-8")
    app = create_service_app(api_settings(tmp_path, None, metrics_token_file=secret))

    async def scrape(headers: dict[str, str]) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # no lifespan: /metrics needs no model
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            return await http.get("/metrics", headers=headers)

    _refused(run(scrape({})))
    assert run(scrape({"Authorization": f"Bearer {TOKEN}"})).status_code == 200


def test_a_short_token_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 16"):
        create_service_app(api_settings(tmp_path, None, metrics_token="short"))
