"""The Typer application object that every command module registers on."""

from __future__ import annotations

import typer

from nba_mlops.log import dump_stacks_on_sigusr1

app = typer.Typer(
    name="nba-mlops",
    help="Predict whether an NBA shot goes in, and keep that prediction service healthy.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _every_command() -> None:
    """Predict whether an NBA shot goes in, and keep that prediction service healthy."""
    dump_stacks_on_sigusr1()  # a command that seems stuck says where it is
