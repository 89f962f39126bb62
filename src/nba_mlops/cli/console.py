"""Shared console pieces for commands: settings + logging, Rich progress, summaries."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from nba_mlops.config import Settings, get_settings
from nba_mlops.log import setup_logging

console = Console(stderr=True)
out = Console()


def prepare() -> Settings:
    """Settings from the environment, the data directory created, logging configured."""
    settings = get_settings()
    settings.ensure_dirs()
    setup_logging(settings)
    return settings


@contextmanager
def steps(title: str) -> Iterator[Callable[[str], None]]:
    """A spinner whose text follows the stage being worked on."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(title, total=None)

        def update(message: str) -> None:
            progress.update(task, description=f"{title}: {message}")

        yield update


@contextmanager
def counter(title: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A bar advancing by rows processed."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} rows"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(title, total=total)

        def advance(rows: int) -> None:
            progress.advance(task, rows)

        yield advance


#: ``--json`` of every listing command.
JSON_OPTION = typer.Option(False, "--json", help="Print JSON (for scripts) instead of a table.")


def table(title: str | None = None) -> Table:
    """A table that stays readable in 80 columns and when piped (where Rich assumes 80):
    no frame, one space between columns. Columns of numbers and names should not wrap
    (``no_wrap=True``); at most one column of free text may."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,  # two spaces between columns, not three
    )


def print_json(value: Any) -> None:
    """One JSON document on standard output, nothing else (logs go to standard error);
    numbers that are not finite become null."""
    sys.stdout.write(json.dumps(_finite(value), indent=2, default=str, allow_nan=False) + "\n")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def summary(line: str) -> None:
    """The one-line result every command ends with."""
    out.print(line, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)
