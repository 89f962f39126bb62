"""``ingest`` and ``simulate``: bring shot files into the store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from nba_mlops.cli.app import app
from nba_mlops.cli.console import console, fail, out, prepare, steps, summary
from nba_mlops.config import bundled_sample_path

REFUSED_EXIT_CODE = 2


@contextmanager
def _file_progress() -> Iterator[Callable[[Path], Callable[[str, float], None]]]:
    """A bar per file that follows its ingestion stages."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:

        def for_file(path: Path) -> Callable[[str, float], None]:
            task = progress.add_task(path.name, total=1.0)

            def update(stage: str, done: float) -> None:
                progress.update(task, completed=done, description=f"{path.name}: {stage}")

            return update

        yield for_file


@app.command("ingest")
def ingest_command(
    paths: list[Path] = typer.Argument(
        None, help="Shot files (CSV, .csv.gz or Parquet). Default: the incoming folder."
    ),
    sample: bool = typer.Option(False, "--sample", help="Ingest the bundled real sample."),
) -> None:
    """Validate, repair and store shot files; rejected rows go to the quarantine."""
    from nba_mlops.data.ingest import (
        IngestReport,
        ShotFileError,
        incoming_files,
        ingest_file,
        ingest_incoming,
        summarise,
    )
    from nba_mlops.data.store import ShotStore

    settings = prepare()
    sources = list(paths or [])
    if sample:
        sources.append(bundled_sample_path())
    reports: list[IngestReport] = []
    refusals: list[str] = []
    with _file_progress() as for_file:
        if sources:
            for source in sources:
                try:
                    reports.append(ingest_file(settings, source, for_file(source)))
                except ShotFileError as error:
                    refusals.append(str(error))
        else:
            if not incoming_files(settings):
                summary(f"nothing to ingest: {settings.incoming_dir} is empty")
                return
            reports = ingest_incoming(settings, for_file)
            refusals = [r.refused for r in reports if r.refused]
    for refusal in refusals:
        console.print(f"[red]refused:[/red] {refusal}", highlight=False, soft_wrap=True)
    version = ShotStore(settings).data_version()
    history = ""
    if version.rows and any(not r.refused for r in reports):
        from nba_mlops.pipeline import refresh_features

        with steps("shot history") as progress:
            progress("updating the shooters' records and the online table")
            history = "; " + refresh_features(settings)
    summary(
        summarise([r for r in reports if not r.refused], version) + _refused(refusals) + history
    )
    if refusals:
        raise typer.Exit(REFUSED_EXIT_CODE)


def _refused(refusals: list[str]) -> str:
    if not refusals:
        return ""
    return f"; {len(refusals)} file{'s' if len(refusals) != 1 else ''} refused"


@app.command("simulate")
def simulate_command(
    source: Path = typer.Option(..., "--source", help="A large shot file to carve days from."),
    days: int = typer.Option(1, "--days", min=1, help="Days to simulate, one game date each."),
    ingest: bool = typer.Option(
        True,
        "--ingest/--no-ingest",
        help="Ingest each day once scored (default); --no-ingest leaves the scored files "
        "in the incoming folder for `nba-mlops ingest` or the orchestrator.",
    ),
) -> None:
    """Simulate days of new data: each day, the next game date of SOURCE is scored by the
    champion through the serving path and stored as predictions, then ingested with its
    outcomes, which verifies those predictions."""
    from nba_mlops.daily import simulate_day
    from nba_mlops.data.ingest import ShotFileError

    settings = prepare()
    simulated = 0
    try:
        for number in range(1, days + 1):
            with steps(f"day {number} of {days}") as progress:
                day = simulate_day(settings, source, ingest=ingest, progress=progress)
            if day.delivery.nothing_left and not day.scorings:
                console.print(day.summary(), highlight=False, soft_wrap=True)
                break
            simulated += 1
            out.print(f"day {number}: {day.summary()}", highlight=False, soft_wrap=True)
    except ShotFileError as error:
        fail(str(error), code=REFUSED_EXIT_CODE)
    what = "ingested" if ingest else "left in the incoming folder"
    summary(f"simulated {simulated} day{'s' if simulated != 1 else ''} ({what})")


@app.command("verify")
def verify_command() -> None:
    """Record the real outcome of every stored prediction whose shot the store holds.

    Every ingest does this for its own shots; run it after an ingest that could not reach
    the database, or for predictions asked about shots ingested before."""
    from nba_mlops.db.verification import verify_from_store

    settings = prepare()
    try:
        with steps("verify") as progress:
            progress("matching waiting predictions with the stored shots")
            done = verify_from_store(settings)
    except Exception as error:
        fail(f"could not verify predictions: {error}")
    if done is None:
        summary("no application database yet: no prediction to verify")
        return
    summary(
        f"{done.summary()} in {done.seconds:.1f} s ({done.games_asked:,} games had "
        "predictions waiting for their outcome)"
    )
