"""The training lock through PostgreSQL: what keeps training single-flight when the
deployment's hosts share the application database (``DATABASE_URL``) but no file system
lock. Each contender is a process of its own with its own data directory, as on two hosts:
only the database is shared."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nba_mlops.config import Settings
from nba_mlops.db.locks import lock_key, postgres_conninfo
from nba_mlops.training.lock import LOCK_NAME, TrainingInProgressError, training_lock
from tests.support.app_db import database_url

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

REPO = Path(__file__).resolve().parents[2]
#: A contender in its own process: takes the lock, says so, and holds it until stdin closes.
HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from nba_mlops.config import Settings
    from nba_mlops.training.lock import training_lock
    with training_lock(Settings(home=Path(sys.argv[1])), owner=sys.argv[2]):
        print("held", flush=True)
        sys.stdin.read()
    print("released", flush=True)
    """
)


@pytest.fixture
def shared_db(tmp_path: Path) -> Iterator[str]:
    with database_url("postgres", tmp_path) as url:
        yield url


def _settings(home: Path, url: str) -> Settings:
    return Settings(home=home, DATABASE_URL=url)


def _start_holder(home: Path, url: str, owner: str) -> subprocess.Popen[str]:
    env = dict(os.environ, DATABASE_URL=url)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home), owner],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    return holder


def _wait_free(settings: Settings, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with training_lock(settings):
                return
        except TrainingInProgressError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_two_processes_contend_through_postgres_and_the_holder_is_named(
    tmp_path: Path, shared_db: str
) -> None:
    holder = _start_holder(tmp_path / "host-a", shared_db, "dagster run 1234")
    try:
        # Another "host": a different data directory, so no file lock is shared.
        other = _settings(tmp_path / "host-b", shared_db)
        with pytest.raises(TrainingInProgressError) as refused, training_lock(other):
            pytest.fail("a second training got the lock")
        message = str(refused.value)
        assert f"another training run is in progress (pid {holder.pid}, dagster run 1234" in (
            message
        )
        assert "since 20" in message and "PostgreSQL advisory lock" in message
        assert not (tmp_path / "host-b" / ".training.lock").exists()  # no file lock taken
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # the holder leaves its block and releases the lock
        holder.wait(30)
    assert holder.stdout is not None and holder.stdout.read().strip() == "released"
    with training_lock(_settings(tmp_path / "host-b", shared_db), owner="next"):
        pass


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path: Path, shared_db: str) -> None:
    holder = _start_holder(tmp_path / "host-a", shared_db, "doomed")
    other = _settings(tmp_path / "host-b", shared_db)
    try:
        with pytest.raises(TrainingInProgressError, match="doomed"), training_lock(other):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)  # no finally block of the holder runs
        holder.wait(30)
    # PostgreSQL ends the dead client's session, and its advisory lock with it.
    _wait_free(other)


def test_the_lock_holds_within_one_process_too(tmp_path: Path, shared_db: str) -> None:
    settings = _settings(tmp_path, shared_db)
    with (
        training_lock(settings, owner="first"),
        pytest.raises(TrainingInProgressError, match="first"),
        training_lock(settings),
    ):
        pass
    with training_lock(settings):  # released on leaving the block
        pass


def test_an_embedded_database_keeps_the_file_lock(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert postgres_conninfo(settings) is None
    with training_lock(settings, owner="first"):
        assert "first" in (tmp_path / ".training.lock").read_text()
    sqlite = Settings(home=tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}")
    assert postgres_conninfo(sqlite) is None


def test_the_lock_key_is_stable_and_named() -> None:
    assert lock_key(LOCK_NAME) == lock_key("training")
    assert lock_key("training") != lock_key("other")
    assert -(2**63) <= lock_key("training") < 2**63


def test_an_unreachable_database_is_a_one_line_error_naming_the_lock(tmp_path: Path) -> None:
    """Nothing listens on port 1: the lock says it needs the application database, and
    ``nba-mlops train`` prints that line instead of a traceback."""
    from nba_mlops.db.session import DatabaseUnavailableError

    url = "postgresql+psycopg://postgres@127.0.0.1:1/nba"
    settings = Settings(home=tmp_path, database_url=url)
    refused = pytest.raises(DatabaseUnavailableError, match="training lock needs the application")
    with refused, training_lock(settings, owner="test"):
        pass
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_MLOPS_")}
    env.update(NBA_MLOPS_HOME=str(tmp_path / "cli"), DATABASE_URL=url)
    cli = str(Path(sys.executable).with_name("nba-mlops"))
    done = subprocess.run(
        [cli, "train", "--profile", "quick"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 1
    assert "did not answer" in done.stderr and "Traceback" not in done.stderr, done.stderr
