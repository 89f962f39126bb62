"""The Typer application object that every command module registers on."""

from __future__ import annotations

import contextlib
import faulthandler
import signal

import typer

app = typer.Typer(
    name="nba-mlops",
    help="Predict whether an NBA shot goes in, and keep that prediction service healthy.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _every_command() -> None:
    """Predict whether an NBA shot goes in, and keep that prediction service healthy."""
    # A command that seems stuck prints every thread's stack on `kill -USR1 <pid>`
    # (to stderr, so into the log of whatever started it), and goes on running.
    with contextlib.suppress(AttributeError, ValueError, RuntimeError):  # no SIGUSR1 on Windows
        faulthandler.register(signal.SIGUSR1, all_threads=True)
