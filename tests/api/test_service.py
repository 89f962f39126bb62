"""Welcome, web page, health, readiness, docs and metrics."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from nba_mlops.monitoring.refresh import MetricsRefresher
from tests.support.api_servers import (
    PASSWORD,
    Account,
    LiveServer,
    api_settings,
    run_server,
    sign_up,
    unique_name,
)


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


def test_refresh_sets_the_database_quality_and_drift_gauges(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    from nba_mlops.auth.users import create_user
    from nba_mlops.db.verification import verify_shots

    game = 22399000 + int(time.time()) % 900  # a game of this test's own
    outcomes = {}
    for event, x in enumerate(range(-100, 101, 20), start=1):
        shot = {"loc_x": x, "loc_y": 60, "game_id": game, "game_event_id": event,
                "game_date": "2023-04-09"}  # fmt: skip
        response = client.post("/predict", json=shot, headers=account.headers)
        assert response.status_code == 200
        outcomes[event] = int(x % 40 == 0)
    # the data brings the shots' outcomes; a labeller labels three other predictions
    verify_shots(live.services.db, [game] * len(outcomes), list(outcomes), list(outcomes.values()))
    name = unique_name("labeler")
    with live.services.db.session() as session:
        create_user(session, name, PASSWORD, role="labeler")
    token = client.post("/login", data={"username": name, "password": PASSWORD}).json()
    labeller = {"Authorization": f"Bearer {token['access_token']}"}
    for x in (-30, 0, 30):
        response = client.post("/predict", json={"loc_x": x, "loc_y": 90}, headers=account.headers)
        verify = {"prediction_id": response.json()["prediction_id"], "true_value": 1}
        assert client.post("/verify_random_prediction", json=verify, headers=labeller).is_success

    snapshot = MetricsRefresher(live.settings, live.services.db).refresh_once()

    assert snapshot.database_up and snapshot.users >= 1 and snapshot.verified >= 14
    text = client.get("/metrics").text
    version = live.services.predictor.current.version
    live_version = rf'\{{model_version="{version}"\}}'
    for pattern in [
        r"^nba_database_up 1\.0$",
        r"^nba_users [1-9]",
        r"^nba_predictions_stored [1-9]",
        r"^nba_predictions_verified [1-9]",
        rf"^nba_live_accuracy{live_version} [0-9.]+$",
        rf"^nba_live_log_loss{live_version} [0-9.]+$",
        rf"^nba_live_ece{live_version} [0-9.]+$",
        rf"^nba_live_verified_count{live_version} [1-9]",
        rf"^nba_live_make_rate{live_version} 0\.[0-9]+$",
        rf"^nba_live_constant_log_loss{live_version} 0\.[0-9]+$",
        rf"^nba_live_constant_accuracy{live_version} 0\.[0-9]+$",
        rf'^nba_live_day_log_loss\{{day="2023-04-09",model_version="{version}"\}} [0-9.]+$',
        rf'^nba_live_day_accuracy\{{day="2023-04-09",model_version="{version}"\}} [0-9.]+$',
        rf'^nba_live_day_ece\{{day="2023-04-09",model_version="{version}"\}} [0-9.]+$',
        rf'^nba_live_day_verified_count\{{day="2023-04-09",model_version="{version}"\}} ',
        rf"^nba_label_accuracy{live_version} [0-9.]+$",
        rf"^nba_label_log_loss{live_version} [0-9.]+$",
        rf"^nba_label_count{live_version} [1-9]",
        rf"^nba_model_holdout_log_loss{live_version} 0\.[0-9]+$",
        rf"^nba_model_holdout_accuracy{live_version} 0\.[0-9]+$",
        rf"^nba_model_holdout_ece{live_version} 0\.[0-9]+$",
        rf"^nba_model_holdout_constant_log_loss{live_version} 0\.[0-9]+$",
        rf"^nba_model_holdout_constant_accuracy{live_version} 0\.[0-9]+$",
        rf"^nba_prediction_mean_probability{live_version} 0\.[0-9]+$",
        rf"^nba_prediction_positive_share{live_version} [0-9.]+$",
        r'^nba_feature_drift_psi\{feature="loc_x"\} ',
        r"^nba_drift_sample_size [1-9]",
        r"^nba_last_training_timestamp_seconds [1-9]",
    ]:
        assert re.search(pattern, text, re.MULTILINE), pattern
    # the data's outcomes and the labeller's are counted apart
    data = snapshot.quality[version]
    assert data.count >= len(outcomes) and snapshot.labels[version].count >= 3


@pytest.mark.slow
def test_the_background_refresh_runs_in_a_helper_process(model_home: Path, tmp_path: Path) -> None:
    settings = api_settings(model_home, f"sqlite:///{tmp_path / 'app.db'}", refresh_interval_s=0.5)
    with run_server(settings) as server, server.client() as http:
        sign_up(http)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if re.search(r"^nba_users 1\.0$", http.get("/metrics").text, re.MULTILINE):
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the refresher never set nba_users")
        pool = server.services.refresher._pool
        assert pool is not None  # the work happened in the helper process
