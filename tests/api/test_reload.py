"""Hot reload: a new champion is served without a restart and without a failed request."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from nba_mlops.auth.users import create_user
from nba_mlops.config import Settings
from tests.support.api_champion import register_version
from tests.support.api_servers import PASSWORD, api_settings, run_server, sign_up, unique_name


@pytest.mark.slow
def test_alias_move_is_served_with_zero_failed_requests(tmp_path: Path) -> None:
    assert register_version(tmp_path, c=1.0) == 1
    settings = api_settings(tmp_path, None, reload_interval_s=0.3)
    with run_server(settings) as live:
        with live.client() as http:
            account = sign_up(http)
        outcomes: list[tuple[int, str | None]] = []
        stop = threading.Event()

        def hammer(worker: int) -> None:
            with live.client() as http:
                i = 0
                while not stop.is_set():
                    shot = {"loc_x": (worker * 37 + i) % 500 - 250, "loc_y": i % 300}
                    response = http.post("/predict", json=shot, headers=account.headers)
                    version = response.json().get("model_version") if response.is_success else None
                    outcomes.append((response.status_code, version))
                    i += 1

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            workers = [pool.submit(hammer, w) for w in range(8)]
            time.sleep(1.0)
            # Train and register version 2 and move the alias while requests are in flight.
            assert register_version(tmp_path, c=0.001) == 2
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if outcomes and outcomes[-1][1] == "2":
                    break
                time.sleep(0.1)
            time.sleep(1.0)
            stop.set()
            for worker in workers:
                worker.result()

        statuses = Counter(status for status, _ in outcomes)
        versions = Counter(version for _, version in outcomes)
        assert statuses == {200: len(outcomes)}, statuses
        assert versions["1"] > 0 and versions["2"] > 0, versions
        assert all(version == "2" for _, version in outcomes[-20:])
        assert live.services.predictor.current.version == "2"
        with live.client() as http:
            assert http.get("/models/current").json()["version"] == "2"
            history = http.get("/predictions?limit=1", headers=account.headers).json()
            assert history["total"] == len(outcomes)  # every 2xx was stored
            metrics = http.get("/metrics").text
        assert 'nba_model_info{name="nba-shot-make",version="2"} 1.0' in metrics
        assert 'nba_model_info{name="nba-shot-make",version="1"} 0.0' in metrics
        assert "nba_model_version 2.0" in metrics


def test_without_a_champion_predict_and_ready_are_503(tmp_path: Path) -> None:
    settings = api_settings(tmp_path, None)
    settings.ensure_dirs()
    with run_server(settings) as live, live.client() as http:
        account = sign_up(http)
        response = http.post("/predict", json={"loc_x": 0, "loc_y": 0}, headers=account.headers)
        assert response.status_code == 503
        assert "No model is being served" in response.json()["detail"]
        assert "retry-after" in response.headers
        ready = http.get("/ready")
        assert ready.status_code == 503
        assert "No model" in ready.json()["detail"]
        assert http.get("/models/current").status_code == 503
        assert http.get("/players").status_code == 503
        assert http.get("/health").status_code == 200
        assert "nba_model_loaded 0.0" in http.get("/metrics").text

        # The first champion arrives; an administrator loads it without waiting.
        register_version(tmp_path)
        admin = unique_name("admin")
        with live.services.db.session() as session:
            create_user(session, admin, PASSWORD, admin=True)
        token = http.post("/login", data={"username": admin, "password": PASSWORD}).json()
        reload = http.post(
            "/models/reload", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        assert reload.status_code == 200 and reload.json()["changed"] is True
        assert reload.json()["version"] == "1"
        again = http.post("/predict", json={"loc_x": 0, "loc_y": 0}, headers=account.headers)
        assert again.status_code == 200
        assert http.get("/ready").status_code == 200


def test_a_broken_registry_keeps_the_served_model(tmp_path: Path) -> None:
    register_version(tmp_path)
    settings = api_settings(tmp_path, None)
    with run_server(settings) as live, live.client() as http:
        account = sign_up(http)
        predictor = live.services.predictor
        not_a_directory = tmp_path / "a-file"
        not_a_directory.write_text("x")
        predictor.settings = Settings(
            home=tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{not_a_directory}/mlflow.db"
        )
        admin = unique_name("admin")
        with live.services.db.session() as session:
            create_user(session, admin, PASSWORD, admin=True)
        token = http.post("/login", data={"username": admin, "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        reload = http.post("/models/reload?force=true", headers=headers)
        assert reload.status_code == 200 and reload.json()["changed"] is False
        assert "unreachable" in reload.json()["message"]
        response = http.post("/predict", json={"loc_x": 0, "loc_y": 0}, headers=account.headers)
        assert response.status_code == 200 and response.json()["model_version"] == "1"
        assert 'nba_model_reloads_total{outcome="failure"}' in http.get("/metrics").text
