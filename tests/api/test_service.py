"""Welcome, web page, health, readiness, docs and metrics."""

from __future__ import annotations

import re

import httpx
from api_servers import Account


def test_welcome_is_json_when_asked(client: httpx.Client) -> None:
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert "Welcome" in response.json()["message"]


def test_the_built_web_page_is_served_at_root(client: httpx.Client) -> None:
    page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200 and "<title>court</title>" in page.text
    asset = client.get("/assets/app.js")
    assert asset.status_code == 200 and "court" in asset.text
    # client-side routes fall back to the page; API routes keep precedence
    html = {"Accept": "text/html"}
    assert "<title>court</title>" in client.get("/history", headers=html).text
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/assets/missing.js", headers=html).status_code == 404
    assert client.get("/no-such-page").status_code == 404  # not a browser: no page


def test_health_and_ready(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["database"] == "reachable"


def test_docs_and_schema(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in [
        "/signup",
        "/login",
        "/predict",
        "/predict/batch",
        "/verify_random_prediction",
        "/predictions",
        "/models/current",
        "/models/reload",
        "/players",
        "/health",
        "/ready",
    ]:
        assert path in paths, path


def test_metrics_use_the_contract_names_and_route_templates(
    client: httpx.Client, account: Account
) -> None:
    client.post("/predict", json={"loc_x": 0, "loc_y": 0}, headers=account.headers)
    client.get("/predictions?limit=3&offset=0", headers=account.headers)
    client.get("/definitely/not/a/route", headers={"Accept": "application/json"})
    text = client.get("/metrics").text
    for name in [
        "nba_http_requests_total",
        "nba_http_request_duration_seconds_bucket",
        "nba_inference_duration_seconds_bucket",
        "nba_inference_batch_size_bucket",
        "nba_predictions_total",
        "nba_model_loaded",
        "nba_model_info",
        "nba_model_version",
        "nba_model_reloads_total",
    ]:
        assert re.search(rf"^{name}[{{ ]", text, re.MULTILINE), name
    assert 'route="/predictions"' in text
    assert 'route="/predict",status="200"' in text
    assert "limit=3" not in text and "/definitely" not in text
    assert re.search(r"^nba_model_loaded 1\.0$", text, re.MULTILINE)
