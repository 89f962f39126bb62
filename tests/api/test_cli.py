"""``nba-mlops users`` and ``nba-mlops db``: accounts and schema from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from api_servers import PASSWORD

from nba_mlops.auth.users import authenticate
from nba_mlops.config import Settings
from nba_mlops.db.session import Database

CLI = str(Path(sys.executable).with_name("nba-mlops"))


def run(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "NBA_MLOPS_HOME"}}
    env["NBA_MLOPS_HOME"] = str(home)
    return subprocess.run(
        [CLI, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.slow
def test_users_and_db_commands(tmp_path: Path) -> None:
    created = run(
        tmp_path, "users", "create", "chief", "--admin", "--password-stdin", stdin=PASSWORD
    )
    assert created.returncode == 0, created.stderr
    assert "created administrator chief" in created.stdout
    again = run(tmp_path, "users", "create", "chief", "--password-stdin", stdin=PASSWORD)
    assert again.returncode == 1 and "already taken" in again.stderr
    short = run(tmp_path, "users", "create", "shorty", "--password-stdin", stdin="abc")
    assert short.returncode == 1 and "at least 8" in short.stderr
    bad_name = run(tmp_path, "users", "create", "no spaces", "--password-stdin", stdin=PASSWORD)
    assert bad_name.returncode == 1
    assert run(tmp_path, "users", "disable", "chief").returncode == 0
    listed = run(tmp_path, "users", "list")
    assert "chief" in listed.stdout and "disabled" in listed.stdout and "admin" in listed.stdout
    assert run(tmp_path, "users", "disable", "nobody").returncode == 1
    new_password = "another long password"
    changed = run(
        tmp_path, "users", "set-password", "chief", "--password-stdin", stdin=new_password
    )
    assert changed.returncode == 0, changed.stderr
    current = run(tmp_path, "db", "current")
    assert current.returncode == 0 and "up to date" in current.stdout

    db = Database(Settings(home=tmp_path))
    try:
        with db.session() as session:
            user = authenticate(session, "chief", new_password)
            assert user is not None and user.is_admin and user.disabled
    finally:
        db.dispose()
