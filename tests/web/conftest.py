"""A real API with a freshly trained model, the built court page, and headless Chromium.

The API runs in a subprocess, ``nba-mlops up`` as ``make up`` runs it, on a copy of the
run's trained home (the pipeline on the bundled sample); it serves ``web/dist`` (built here
when missing or older than its sources) on the same origin as the API, exactly as in
production. Every browser test runs in one test process (``xdist_group``), so the server
starts once.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from nba_mlops.config import Settings
from tests.support.homes import copy_home
from tests.support.prerequisites import missing, require

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
DIST = WEB / "dist"
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WEB_SOURCES = ("src", "public", "index.html", "package.json", "package-lock.json", "vite.config.ts")


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in WEB_SOURCES:
        path = WEB / name
        files = path.rglob("*") if path.is_dir() else [path]
        for f in files:
            if f.is_file():
                newest = max(newest, f.stat().st_mtime)
    return newest


def build_web_page() -> Path:
    """``web/dist``, rebuilt with npm when missing or stale."""
    index = DIST / "index.html"
    if index.is_file() and index.stat().st_mtime >= _newest_source_mtime():
        return DIST
    npm = require("npm", "web/dist is missing or stale and npm builds it")
    if not (WEB / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, timeout=600)
    subprocess.run([npm, "run", "build"], cwd=WEB, check=True, timeout=600)
    assert index.is_file(), "npm run build did not produce web/dist/index.html"
    return DIST


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli() -> list[str]:
    """The ``nba-mlops`` command of the interpreter running the tests."""
    script = Path(sys.executable).with_name("nba-mlops")
    if script.is_file():
        return [str(script)]
    return ["uv", "run", "--no-sync", "nba-mlops"]


@dataclass
class RunningApi:
    base_url: str
    home: Path
    log: Path


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the API exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            response = httpx.get(f"{base_url}/ready", timeout=2.0)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:300]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.5)
    pytest.fail(f"the API was not ready after {timeout:.0f} s ({last}):\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def api_server(
    trained_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApi]:
    """``nba-mlops up`` (what ``make up`` runs) on a copy of the run's trained home: the
    sample is stored and the champion current, so it serves without training again."""
    dist = build_web_page()
    home = tmp_path_factory.mktemp("nba-mlops-home") / "home"
    copy_home(trained_settings.home, home)
    env = {
        **os.environ,
        "NBA_MLOPS_HOME": str(home),
        "NBA_MLOPS_SERVING__WEB_DIST_DIR": str(dist),
        "PYTHONUNBUFFERED": "1",
    }
    for variable in ("DATABASE_URL", "MLFLOW_TRACKING_URI", "PREDICTION_SERVICE_URL"):
        env.pop(variable, None)  # everything embedded under the temporary home
    log = home / "e2e-api.log"
    port = free_port()
    command = [*cli(), "up", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("a") as out:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, process, log, timeout=180)
        yield RunningApi(base_url=base_url, home=home, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class Account:
    username: str
    password: str


@pytest.fixture(scope="session")
def account(api_server: RunningApi) -> Account:
    """A user made for this run through the API (credentials are random, never fixed)."""
    username = f"e2e_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(18)
    response = httpx.post(
        f"{api_server.base_url}/signup",
        json={"username": username, "password": password},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return Account(username, password)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    folder = Path(os.environ.get("E2E_SCREENSHOT_DIR", REPO / "artifacts" / "e2e-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser(api_server: RunningApi) -> Iterator[Any]:
    if not CHROMIUM.is_file():
        missing("chromium", f"not found at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            with contextlib.suppress(Exception):
                browser.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep every browser test on one test process: the server and browser start once."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.xdist_group("e2e"))
