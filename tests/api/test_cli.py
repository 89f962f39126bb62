"""``nba-mlops users`` and ``nba-mlops db``: accounts and schema from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nba_mlops.auth.users import authenticate, get_by_username
from nba_mlops.config import Settings
from nba_mlops.db.models import User
from nba_mlops.db.session import Database
from tests.support.api_servers import PASSWORD

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


@pytest.mark.slow
def test_passwords_tokens_and_names_from_the_command_line(tmp_path: Path) -> None:
    for weak in ("password", "12345678", "        ", "robert_p"):
        refused = run(tmp_path, "users", "create", "robert_p", "--password-stdin", stdin=weak)
        assert refused.returncode == 1, weak
        assert "the password is refused" in refused.stderr, refused.stderr
    assert (
        run(tmp_path, "users", "create", "robert_p", "--password-stdin", stdin=PASSWORD).returncode
        == 0
    )
    taken = run(tmp_path, "users", "create", "ROBERT_P", "--password-stdin", stdin=PASSWORD)
    assert taken.returncode == 1 and "already taken" in taken.stderr

    def version() -> int:
        db = Database(Settings(home=tmp_path))
        try:
            with db.session() as session:
                user = get_by_username(session, "robert_p")
                assert user is not None
                return user.token_version
        finally:
            db.dispose()

    weak = run(tmp_path, "users", "set-password", "robert_p", "--password-stdin", stdin="password")
    assert weak.returncode == 1 and version() == 0
    changed = run(
        tmp_path, "users", "set-password", "robert_p", "--password-stdin", stdin="a new passphrase"
    )
    assert changed.returncode == 0 and "earlier tokens are revoked" in changed.stdout
    assert version() == 1
    revoked = run(tmp_path, "users", "revoke-tokens", "ROBERT_P")  # any spelling finds it
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert version() == 2

    # An account whose name clashed before names were case-insensitive (0004 migration).
    db = Database(Settings(home=tmp_path))
    try:
        with db.session() as session:
            session.add(User(username="Robert_P", username_key="robert_p#9", password_hash="x"))
            session.commit()
    finally:
        db.dispose()
    listed = run(tmp_path, "users", "list")
    assert "name clashes" in listed.stdout and "1 clashing names" in listed.stdout
    clash = run(tmp_path, "users", "rename", "Robert_P", "robert_q")
    assert clash.returncode == 0, clash.stderr
    assert "1 clashing" not in run(tmp_path, "users", "list").stdout
    taken = run(tmp_path, "users", "rename", "robert_q", "Robert_P")
    assert taken.returncode == 1 and "already taken" in taken.stderr


@pytest.mark.slow
def test_labelers_from_the_command_line(tmp_path: Path) -> None:
    created = run(
        tmp_path, "users", "create", "lab_one", "--role", "labeler", "--password-stdin",
        stdin=PASSWORD,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "created labeler lab_one" in created.stdout
    unknown = run(tmp_path, "users", "create", "lab_two", "--role", "boss", "--password-stdin")
    assert unknown.returncode == 1 and "unknown role 'boss'" in unknown.stderr
    both = run(tmp_path, "users", "create", "lab_two", "--admin", "--role", "labeler")
    assert both.returncode == 1 and "contradict" in both.stderr
    assert (
        run(tmp_path, "users", "create", "plain", "--password-stdin", stdin=PASSWORD).returncode
        == 0
    )
    promoted = run(tmp_path, "users", "set-role", "plain", "labeler")
    assert promoted.returncode == 0, promoted.stderr
    assert "labeler" in run(tmp_path, "users", "list").stdout

    db = Database(Settings(home=tmp_path))
    try:
        with db.session() as session:
            roles = {name: get_by_username(session, name) for name in ("lab_one", "plain")}
            assert {name: user.role for name, user in roles.items() if user} == {
                "lab_one": "labeler",
                "plain": "labeler",
            }
            assert get_by_username(session, "lab_two") is None
    finally:
        db.dispose()


@pytest.mark.slow
def test_a_redis_url_of_another_scheme_is_refused_before_the_password_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = run(tmp_path, "users", "create", "robert_p", "--password-stdin", stdin=PASSWORD)
    assert created.returncode == 0, created.stderr
    monkeypatch.setenv("REDIS_URL", "http://127.0.0.1:6379/0")
    changed = run(
        tmp_path, "users", "set-password", "robert_p", "--password-stdin", stdin="a new one!"
    )
    assert changed.returncode != 0
    assert "REDIS_URL must start with redis://" in changed.stderr
    monkeypatch.delenv("REDIS_URL")
    db = Database(Settings(home=tmp_path))
    try:
        with db.session() as session:
            assert authenticate(session, "robert_p", PASSWORD) is not None
    finally:
        db.dispose()
