"""Fixtures shared across the suite."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
import pytest

from nba_mlops.config import Settings, bundled_sample_path
from tests.support.homes import copy_home
from tests.support.prerequisites import INSTALL, MISSING, OPTIONAL

REPO_ROOT = Path(__file__).resolve().parents[1]


def quick_settings(home: Path) -> Settings:
    """Settings for a test home: the quick training profile (each family once on its
    defaults; tests/training covers the search), so a training run takes seconds."""
    settings = Settings(home=home)
    settings.training.profile = "quick"
    settings.training.tuning_rows = 20_000
    return settings


@pytest.fixture(scope="session")
def trained_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home where the whole pipeline ran once on the bundled sample: store, MLflow
    registry with a champion, batch predictions. One for the whole run: the first test
    process (xdist worker) to need it trains it while the others wait. Read it, don't
    change it (use ``fresh_trained_settings`` for that)."""
    from nba_mlops.log import setup_logging
    from nba_mlops.pipeline import run_pipeline

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / "trained-sample"
    folder.mkdir(exist_ok=True)
    settings = quick_settings(folder / "home")
    with (shared / "trained-sample.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (folder / "done").exists():
            setup_logging(settings, console=False)
            run_pipeline(settings, [bundled_sample_path()])
            (folder / "done").touch()
    return settings


@pytest.fixture
def fresh_trained_settings(trained_settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the trained home that a test may change."""
    home = tmp_path / "home"
    copy_home(trained_settings.home, home)
    settings = quick_settings(home)
    return settings


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The project's shared real data (``../shared/data`` beside the repository); tests
    that need it are skipped where it is not mounted."""
    path = REPO_ROOT.parent / "shared" / "data"
    if not (path / "shots").is_dir():
        pytest.skip(f"shared real data not found at {path}")
    return path


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line naming every prerequisite whose tests were skipped, and how to install it
    (tests/support/prerequisites.py; under CI those tests fail instead)."""
    counts: dict[str, Counter[str]] = {MISSING: Counter(), OPTIONAL: Counter()}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        reason = reason.removeprefix("Skipped: ")
        for prefix, counter in counts.items():
            if reason.startswith(prefix + " "):
                name = re.split(r"[:(]", reason[len(prefix) + 1 :], maxsplit=1)[0].strip()
                counter[name] += 1
    parts = [f"{name} ({n} tests)" for name, n in sorted(counts[MISSING].items())]
    optional = [f"{name} ({n})" for name, n in sorted(counts[OPTIONAL].items())]
    if not parts and not optional:
        return
    line = "skipped for missing prerequisites: "
    if parts:
        line += f"{', '.join(parts)}; `{INSTALL}` installs them"
    if optional:
        line += ("; " if parts else "") + f"optional, not installed: {', '.join(optional)}"
    terminalreporter.write_line(line, yellow=True, bold=True)


# --- no process outlives the suite ---------------------------------------------------------
# Every process the suite starts inherits this marker in its environment; when the run
# ends, any process still carrying it (a server, a helper, an orphan whose parent died)
# is reported, ended, and fails the run.
RUN_MARKER = "NBA_MLOPS_TEST_RUN"


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller; xdist workers inherit it
        os.environ[RUN_MARKER] = f"{os.getpid()}-{uuid.uuid4().hex}"


# Helpers of Python's multiprocessing that a process started in-process (batch scoring's
# fork server and its resource tracker) exit when it does: when the run is one process,
# they are its own children until the very end, not orphans.
_ENDS_WITH_PARENT = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")


def _left_behind(marker: str) -> list[psutil.Process]:
    me = os.getpid()
    found = []
    for process in psutil.process_iter(["pid", "status"]):
        if process.pid == me or process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if process.environ().get(RUN_MARKER) != marker:
                continue
            if process.ppid() == me and any(
                helper in " ".join(process.cmdline()) for helper in _ENDS_WITH_PARENT
            ):
                continue
            found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return
    marker = os.environ.get(RUN_MARKER)
    if not marker:
        return
    deadline = time.monotonic() + 30  # xdist workers and servers still shutting down
    left = _left_behind(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = [p for p in left if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    if not left:
        return
    lines = []
    for process in left:
        with contextlib.suppress(psutil.Error):
            lines.append(
                f"  {process.pid} (parent {process.ppid()}): {' '.join(process.cmdline())[:160]}"
            )
            process.kill()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = "\nprocesses started by the tests outlived them (now killed):\n" + "\n".join(lines)
    if reporter is not None:
        reporter.write_line(message, red=True)
    else:
        print(message)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
