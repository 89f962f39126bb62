"""``users create|list|disable|enable|set-password``: API accounts (no default users)."""

from __future__ import annotations

import re
import sys

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import fail, out, prepare, summary
from nba_mlops.config import Settings

users_app = typer.Typer(help="Accounts of the prediction API.", no_args_is_help=True)
app.add_typer(users_app, name="users")

_STDIN_HELP = "Read the password from the first line of standard input (for scripts)."


def _read_password(settings: Settings, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    minimum = settings.serving.min_password_length
    if len(password) < minimum:
        fail(f"the password must have at least {minimum} characters")
    return password


def _database(settings: Settings):  # type: ignore[no-untyped-def]
    from nba_mlops.db import migrate
    from nba_mlops.db.session import Database

    migrate.upgrade(settings)
    return Database(settings)


@users_app.command("create")
def create_command(
    username: str = typer.Argument(..., help="3-50 letters, digits or _ . @ + -"),
    admin: bool = typer.Option(False, "--admin", help="May reload the model through the API."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=_STDIN_HELP),
) -> None:
    """Create an account; the password is prompted for (or read with --password-stdin)."""
    from nba_mlops.api.schemas.auth import USERNAME_PATTERN
    from nba_mlops.auth.users import UsernameTakenError, create_user

    settings = prepare()
    if not (3 <= len(username) <= 50 and re.fullmatch(USERNAME_PATTERN, username)):
        fail("a username has 3-50 letters, digits or _ . @ + -")
    password = _read_password(settings, password_stdin)
    db = _database(settings)
    try:
        with db.session() as session:
            user = create_user(session, username, password, admin=admin)
    except UsernameTakenError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    summary(f"created {'administrator' if admin else 'user'} {user.username} (id {user.id})")


@users_app.command("list")
def list_command() -> None:
    """Every account with its role and state."""
    from rich.table import Table

    from nba_mlops.auth.users import list_users

    settings = prepare()
    db = _database(settings)
    try:
        with db.session() as session:
            users = list_users(session)
    finally:
        db.dispose()
    table = Table(title="users")
    for column in ("id", "username", "role", "state", "created"):
        table.add_column(column)
    for user in users:
        table.add_row(
            str(user.id),
            user.username,
            user.role,
            "disabled" if user.disabled else "enabled",
            user.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)
    summary(f"{len(users)} users")


def _set_disabled(username: str, disabled: bool) -> None:
    from nba_mlops.auth.users import UnknownUserError, set_disabled

    settings = prepare()
    db = _database(settings)
    try:
        with db.session() as session:
            set_disabled(session, username, disabled)
    except UnknownUserError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    ttl = settings.serving.user_cache_ttl_s
    state = "disabled" if disabled else "enabled"
    summary(f"{username} {state} (running servers notice within {ttl:g} s)")


@users_app.command("disable")
def disable_command(username: str = typer.Argument(...)) -> None:
    """Refuse the account's logins and tokens."""
    _set_disabled(username, True)


@users_app.command("enable")
def enable_command(username: str = typer.Argument(...)) -> None:
    """Accept the account again."""
    _set_disabled(username, False)


@users_app.command("set-password")
def set_password_command(
    username: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=_STDIN_HELP),
) -> None:
    """Replace an account's password."""
    from nba_mlops.auth.users import UnknownUserError, set_password

    settings = prepare()
    password = _read_password(settings, password_stdin)
    db = _database(settings)
    try:
        with db.session() as session:
            set_password(session, username, password)
    except UnknownUserError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    summary(f"password of {username} replaced")
