"""``nba-mlops serve`` as real processes: several workers, and the separate prediction service."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.api_champion import local_tracking_uri
from tests.support.api_servers import PASSWORD, api_settings, free_port, run_server, sign_up

CLI = str(Path(sys.executable).with_name("nba-mlops"))


@contextmanager
def serve(
    args: list[str], env: dict[str, str], port: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``nba-mlops serve ...`` until the block ends; wait until it answers /ready."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [CLI, "serve", "--port", str(port), *args],
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output_text = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"nba-mlops serve did not start:\n{output_text}")
            time.sleep(0.3)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def metric(text: str, pattern: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if re.match(pattern, line):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.slow
def test_two_workers_share_users_tokens_and_metrics(model_home: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {
        "NBA_MLOPS_HOME": str(tmp_path),
        "MLFLOW_TRACKING_URI": local_tracking_uri(model_home),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "NBA_MLOPS_ADMIN_USERNAME": "chief",
        "NBA_MLOPS_ADMIN_PASSWORD": PASSWORD,
    }
    env_without_secret = {k: v for k, v in os.environ.items() if k != "NBA_MLOPS_JWT_SECRET"}
    os_environ = os.environ.copy()
    os.environ.clear()
    os.environ.update(env_without_secret)
    try:
        with serve(["--workers", "2"], env, port, tmp_path / "serve.log"):
            url = f"http://127.0.0.1:{port}"
            secret = tmp_path / "jwt_secret"
            assert secret.is_file() and (secret.stat().st_mode & 0o777) == 0o600
            with httpx.Client(base_url=url, timeout=30) as http:
                account = sign_up(http)
                admin = http.post("/login", data={"username": "chief", "password": PASSWORD})
                assert admin.status_code == 200
                admin_headers = {"Authorization": f"Bearer {admin.json()['access_token']}"}
            for i in range(40):
                # A new connection each time, so both workers answer some.
                with httpx.Client(base_url=url, timeout=30) as http:
                    shot = {"loc_x": i * 5 - 100, "loc_y": 50}
                    response = http.post("/predict", json=shot, headers=account.headers)
                    assert response.status_code == 200, response.text
            scrapes = []
            for _ in range(6):
                with httpx.Client(base_url=url, timeout=30) as http:
                    scrapes.append(http.get("/metrics").text)
            for text in scrapes:  # whichever worker answers, the sums are the same
                assert metric(text, r"nba_predictions_total\{") == 40
                assert (
                    metric(text, r'nba_http_requests_total\{method="POST",route="/predict"') == 40
                )
                assert metric(text, r"nba_model_loaded ") == 1
            with httpx.Client(base_url=url, timeout=30) as http:
                reload = http.post("/models/reload", headers=admin_headers)
                assert reload.status_code == 200
                assert http.get("/predictions", headers=account.headers).json()["total"] == 40
    finally:
        os.environ.clear()
        os.environ.update(os_environ)


@pytest.mark.slow
def test_gateway_scores_through_the_prediction_service(model_home: Path, tmp_path: Path) -> None:
    port = free_port()
    service_url = f"http://127.0.0.1:{port}"
    env = {
        "NBA_MLOPS_HOME": str(tmp_path / "service"),
        "MLFLOW_TRACKING_URI": local_tracking_uri(model_home),
    }
    settings = api_settings(tmp_path / "gateway", None, **{}).model_copy(
        update={"prediction_service_url": service_url}
    )
    settings.ensure_dirs()
    with serve(["--service", "prediction"], env, port, tmp_path / "service.log") as service:
        with httpx.Client(base_url=service_url) as direct:
            scored = direct.post("/predict", json={"records": [{"loc_x": 0, "loc_y": 10}]})
            assert scored.status_code == 200 and len(scored.json()["probabilities"]) == 1
            assert (
                direct.post("/predict", json={"records": [{"loc_x": 999, "loc_y": 0}]}).status_code
                == 422
            )
        with run_server(settings) as gateway, gateway.client() as http:
            assert gateway.services.predictor.remote
            account = sign_up(http)
            response = http.post(
                "/predict", json={"loc_x": 0, "loc_y": 10}, headers=account.headers
            )
            assert response.status_code == 200, response.text
            assert response.json()["prediction_id"] >= 1
            batch = {"shots": [{"loc_x": x, "loc_y": 30} for x in range(-50, 50, 5)]}
            assert (
                len(
                    http.post("/predict/batch", json=batch, headers=account.headers).json()[
                        "predictions"
                    ]
                )
                == 20
            )
            assert http.get("/models/current").json()["version"] == response.json()["model_version"]
            assert http.get("/players?limit=3").json()["players"]
            assert http.get("/ready").status_code == 200
            with httpx.Client(base_url=service_url) as direct:
                assert metric(direct.get("/metrics").text, r"nba_predictions_total\{") >= 22

            os.killpg(service.pid, signal.SIGTERM)
            service.wait(timeout=30)
            down = http.post("/predict", json={"loc_x": 0, "loc_y": 10}, headers=account.headers)
            assert down.status_code == 503
            assert "prediction service" in down.json()["detail"]
            assert http.get("/ready").status_code == 503
            # Answers that were 503 were not stored.
            assert http.get("/predictions", headers=account.headers).json()["total"] == 21


def _helpers(root: psutil.Process) -> list[psutil.Process]:
    return [p for p in root.children(recursive=True) if "multiprocessing" in " ".join(p.cmdline())]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("workers", "stop"),
    [(1, signal.SIGTERM), (1, signal.SIGKILL), (2, signal.SIGKILL)],
    ids=["sigterm", "sigkill", "sigkill-2-workers"],
)
def test_no_process_outlives_serve(
    model_home: Path, tmp_path: Path, workers: int, stop: signal.Signals
) -> None:
    """Workers, the metrics helper and its resource tracker all end with ``serve``, also
    when it is killed and cannot stop them itself."""
    port = free_port()
    env = {
        "NBA_MLOPS_HOME": str(tmp_path),
        "MLFLOW_TRACKING_URI": local_tracking_uri(model_home),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "NBA_MLOPS_SERVING__REFRESH_INTERVAL_S": "1",
    }
    with serve(["--workers", str(workers)], env, port, tmp_path / "serve.log") as process:
        root = psutil.Process(process.pid)
        deadline = time.monotonic() + 90
        while not _helpers(root):  # the metrics helper starts with the first refresh
            assert time.monotonic() < deadline, "the metrics helper never started"
            time.sleep(0.2)
        children = root.children(recursive=True)
        assert len(children) >= workers + 1
        os.kill(process.pid, stop)  # the process alone, not its group
        process.wait(timeout=60)
        _, alive = psutil.wait_procs(children, timeout=20)
        running = [p for p in alive if _running(p)]
        names = [" ".join(p.cmdline())[-80:] for p in running]
        for survivor in running:
            survivor.kill()
        assert not running, names


def _running(process: psutil.Process) -> bool:
    """Alive and not merely a zombie waiting for its new parent to reap it."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
