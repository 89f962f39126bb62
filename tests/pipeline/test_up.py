"""``nba-mlops up``, what ``make up`` runs: on a home where the champion was trained on the
store as it is, it serves that champion without training again; it prints the line that
puts ``nba-mlops`` on a new shell's PATH; and Ctrl-C (SIGINT to the whole process group,
as a terminal sends it, right after it is ready: its helper process may still be
starting) or SIGTERM to the server (as ``docker stop`` and ``kill`` send it) stops it with
a one-line goodbye, exit status 0, and nothing that reads like a failure."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from nba_mlops.config import Settings
from tests.support.homes import copy_home

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ALARMING = re.compile(
    r"traceback|leaked|error|failed|exception|warning|already exists", re.IGNORECASE
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def up(home: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NBA_MLOPS_", "MLFLOW_"))
        and k not in {"DATABASE_URL", "PREDICTION_SERVICE_URL", "PROMETHEUS_MULTIPROC_DIR"}
    }
    env |= {"NBA_MLOPS_HOME": str(home), "COLUMNS": "80", "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(Path(sys.executable).with_name("nba-mlops")), "up", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's job is
        )


def wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, f"up exited {process.returncode}:\n{log.read_text()}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(f"not ready after 240 s:\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_up_serves_the_current_champion_and_stops_cleanly(
    trained_settings: Settings, tmp_path: Path, stop: signal.Signals
) -> None:
    home = tmp_path / "home"
    copy_home(trained_settings.home, home)
    port = free_port()
    log = tmp_path / "up.log"
    process = up(home, port, log)
    try:
        wait_ready(process, port, log)
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 200
        if stop == signal.SIGINT:
            os.killpg(process.pid, stop)
        else:
            process.send_signal(stop)
        status = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    text = log.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    assert status == 0, text
    assert "has not changed since champion v" in text and "trained 3 candidates" not in text
    assert "`source .venv/bin/activate` puts nba-mlops on the PATH" in text
    how = "Ctrl-C" if stop == signal.SIGINT else "SIGTERM"
    assert lines[-1] == f"stopped by {how}: api on http://127.0.0.1:{port} is closed; goodbye"
    assert [line for line in lines if ALARMING.search(line)] == []
