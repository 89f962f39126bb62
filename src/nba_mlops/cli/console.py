"""Shared console pieces for commands: settings + logging, Rich progress, summaries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

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


def summary(line: str) -> None:
    """The one-line result every command ends with."""
    out.print(line, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> None:
    import typer

    console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)
