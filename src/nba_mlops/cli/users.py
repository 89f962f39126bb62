"""``users create|list|disable|enable|set-password|revoke-tokens|rename``: API accounts (no
default users)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import JSON_OPTION, fail, out, prepare, print_json, summary, table
from nba_mlops.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from nba_mlops.db.models import User

users_app = typer.Typer(help="Accounts of the prediction API.", no_args_is_help=True)
app.add_typer(users_app, name="users")

_STDIN_HELP = "Read the password from the first line of standard input (for scripts)."
_NAME_RULE = "a username has 3-50 letters, digits or _ . @ + -"
_ROLE_NAMES = {"user": "user", "labeler": "labeler", "admin": "administrator"}
_ROLE_HELP = (
    "user (default: predicts, labels its own predictions), labeler (also labels anyone's "
    "predictions) or admin (also reloads the model)."
)


def _check_role(role: str) -> str:
    from nba_mlops.db.models import ROLES

    if role not in ROLES:
        fail(f"unknown role '{role}': choose one of {', '.join(ROLES)}")
    return role


def _check_name(username: str) -> None:
    from nba_mlops.api.schemas.auth import USERNAME_PATTERN

    if not (3 <= len(username) <= 50 and re.fullmatch(USERNAME_PATTERN, username)):
        fail(_NAME_RULE)


def _read_password(settings: Settings, username: str, from_stdin: bool) -> str:
    from nba_mlops.auth.users import WeakPasswordError, check_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password(settings, username, password)
    except WeakPasswordError as exc:
        fail(f"the password is refused: {exc}")
    return password


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    """A session on the migrated application database, disposed of afterwards."""
    from nba_mlops.db.migrate import migrated_database

    with migrated_database(settings) as db, db.session() as session:
        yield session


@users_app.command("create")
def create_command(
    username: str = typer.Argument(..., help="3-50 letters, digits or _ . @ + -"),
    admin: bool = typer.Option(False, "--admin", help="Short for --role admin."),
    role: str = typer.Option(None, "--role", help=_ROLE_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=_STDIN_HELP),
) -> None:
    """Create an account; the password is prompted for (or read with --password-stdin)."""
    from nba_mlops.auth.passwords import hash_cost
    from nba_mlops.auth.users import UsernameTakenError, create_user
    from nba_mlops.db.models import ROLE_ADMIN, ROLE_USER

    settings = prepare()
    _check_name(username)
    if admin and role not in (None, ROLE_ADMIN):
        fail(f"--admin and --role {role} contradict each other: give one of them")
    role = _check_role(role or (ROLE_ADMIN if admin else ROLE_USER))
    password = _read_password(settings, username, password_stdin)
    try:
        with _session(settings) as session:
            user = create_user(session, username, password, role=role, cost=hash_cost(settings))
            created = f"{user.username} (id {user.id})"
    except UsernameTakenError as exc:
        fail(str(exc))
    summary(f"created {_ROLE_NAMES[role]} {created}")


@users_app.command("set-role")
def set_role_command(
    username: str = typer.Argument(...),
    role: str = typer.Argument(..., help=_ROLE_HELP),
) -> None:
    """Give an account another role."""
    from nba_mlops.auth.users import set_role

    role = _check_role(role)
    _change(username, lambda session, name: set_role(session, name, role), f"is now a {role}")


@users_app.command("list")
def list_command(as_json: bool = JSON_OPTION) -> None:
    """Every account with its role and state; names that clash case-insensitively are marked."""
    from nba_mlops.auth.usernames import CLASH_MARK
    from nba_mlops.auth.users import list_users

    settings = prepare()
    with _session(settings) as session:
        users = [
            {
                "id": user.id,
                "username": user.username,
                "role": user.role,
                "disabled": user.disabled,
                "name_clash": CLASH_MARK in user.username_key,
                "created_at": user.created_at.isoformat(timespec="seconds"),
            }
            for user in list_users(session)
        ]
    if as_json:
        print_json(users)
        return
    listing = table("users")
    listing.add_column("id", justify="right", no_wrap=True)
    listing.add_column("username", overflow="fold", min_width=12)
    for column in ("role", "state", "created"):
        listing.add_column(column, no_wrap=True)
    for user in users:
        state = "disabled" if user["disabled"] else "enabled"
        listing.add_row(
            str(user["id"]),
            str(user["username"]),
            str(user["role"]),
            f"{state}, name clashes" if user["name_clash"] else state,
            str(user["created_at"])[:16].replace("T", " "),
        )
    out.print(listing)
    clashes = sum(1 for user in users if user["name_clash"])
    note = (
        f"; {clashes} clashing names log in by their exact name only until renamed "
        "(nba-mlops users rename OLD NEW)"
        if clashes
        else ""
    )
    summary(f"{len(users)} users{note}")


def _change(username: str, change: Callable[[Session, str], User], done: str) -> None:
    """Apply ``change`` to the account, announce it to running servers (with Redis) and
    say when they notice."""
    from nba_mlops.auth.news import announce_change
    from nba_mlops.auth.users import UnknownUserError

    settings = prepare()
    try:
        with _session(settings) as session:
            user_id = int(change(session, username).id)
    except UnknownUserError as exc:
        fail(str(exc))
    if announce_change(settings.redis_url, user_id):
        summary(f"{username} {done} (announced to running servers)")
        return
    ttl = settings.serving.user_cache_ttl_s
    summary(f"{username} {done} (running servers notice within {ttl:g} s)")


@users_app.command("disable")
def disable_command(username: str = typer.Argument(...)) -> None:
    """Refuse the account's logins and tokens."""
    from nba_mlops.auth.users import set_disabled

    _change(username, lambda session, name: set_disabled(session, name, True), "disabled")


@users_app.command("enable")
def enable_command(username: str = typer.Argument(...)) -> None:
    """Accept the account again."""
    from nba_mlops.auth.users import set_disabled

    _change(username, lambda session, name: set_disabled(session, name, False), "enabled")


@users_app.command("set-password")
def set_password_command(
    username: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=_STDIN_HELP),
) -> None:
    """Replace an account's password; tokens issued before stop working."""
    from nba_mlops.auth.passwords import hash_cost
    from nba_mlops.auth.users import set_password

    settings = prepare()
    password = _read_password(settings, username, password_stdin)
    cost = hash_cost(settings)
    _change(
        username,
        lambda session, name: set_password(session, name, password, cost),
        "has a new password; earlier tokens are revoked",
    )


@users_app.command("revoke-tokens")
def revoke_tokens_command(username: str = typer.Argument(...)) -> None:
    """Make every token issued to the account so far stop working (password unchanged)."""
    from nba_mlops.auth.users import revoke_tokens

    _change(username, revoke_tokens, "has its earlier tokens revoked")


@users_app.command("rename")
def rename_command(
    username: str = typer.Argument(..., help="The account's exact current name."),
    new_name: str = typer.Argument(..., help="3-50 letters, digits or _ . @ + -"),
) -> None:
    """Give an account another name (e.g. one that clashes case-insensitively)."""
    from nba_mlops.auth.users import UsernameTakenError, rename_user

    _check_name(new_name)
    try:
        _change(
            username,
            lambda session, name: rename_user(session, name, new_name),
            f"renamed to {new_name}; its earlier tokens are refused",
        )
    except UsernameTakenError as exc:
        fail(str(exc))
