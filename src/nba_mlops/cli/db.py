"""``db upgrade|current|downgrade``: the application database schema (Alembic, in code)."""

from __future__ import annotations

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import fail, prepare, summary

db_app = typer.Typer(help="The application database: users and predictions.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _where(url: str) -> str:
    return url.split("@")[-1]  # never print a password from DATABASE_URL


@db_app.command("upgrade")
def upgrade_command(
    revision: str = typer.Argument("head", help="Target revision."),
) -> None:
    """Create or upgrade the tables (safe to run again)."""
    from nba_mlops.db import migrate

    settings = prepare()
    try:
        migrate.upgrade(settings, revision)
        current = migrate.current_revision(settings)
    except Exception as exc:
        fail(f"could not upgrade {_where(settings.db_url)}: {exc}")
    summary(f"database {_where(settings.db_url)} at revision {current}")


@db_app.command("current")
def current_command() -> None:
    """Show the revision the database is at and the newest one shipped."""
    from nba_mlops.db import migrate

    settings = prepare()
    try:
        current = migrate.current_revision(settings)
    except Exception as exc:
        fail(f"could not read {_where(settings.db_url)}: {exc}")
    head = migrate.head_revision()
    state = "up to date" if current == head else f"behind (newest: {head})"
    summary(f"database {_where(settings.db_url)} at revision {current or 'none'}: {state}")


@db_app.command("downgrade")
def downgrade_command(
    revision: str = typer.Argument(..., help="Target revision, e.g. 'base' to drop all."),
) -> None:
    """Go back to an earlier revision (``base`` drops every table)."""
    from nba_mlops.db import migrate

    settings = prepare()
    migrate.downgrade(settings, revision)
    summary(f"database {_where(settings.db_url)} at revision {migrate.current_revision(settings)}")
