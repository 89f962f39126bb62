"""The Typer application object that every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="nba-mlops",
    help="Predict whether an NBA shot goes in, and keep that prediction service healthy.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
