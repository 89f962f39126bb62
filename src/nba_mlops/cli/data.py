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
FileProgress = Callable[[Path], Callable[[str, float], None]]


@contextmanager
def _ingest_progress() -> Iterator[tuple[Callable[[str], None], FileProgress]]:
    """A line following the ingest's stage, and a bar per file following its stages."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        stage = progress.add_task("ingest", total=None)

        def step(message: str) -> None:
            progress.update(stage, description=f"ingest: {message}")

        def for_file(path: Path) -> Callable[[str, float], None]:
            task = progress.add_task(path.name, total=1.0)

            def update(stage: str, done: float) -> None:
                progress.update(task, completed=done, description=f"{path.name}: {stage}")

            return update

        yield step, for_file


@app.command("ingest")
def ingest_command(
    paths: list[Path] = typer.Argument(
        None, help="Shot files (CSV, .csv.gz or Parquet). Default: the incoming folder."
    ),
    sample: bool = typer.Option(False, "--sample", help="Ingest the bundled real sample."),
) -> None:
    """Validate, repair and store shot files; rejected rows go to the quarantine.

    A refused file does not stop the others: every good file is stored, each refused one
    is named with its reason, and the command then exits with 2."""
    from nba_mlops.data.ingest import incoming_files, summarise
    from nba_mlops.data.store import ShotStore
    from nba_mlops.pipeline import IngestRefusedError, IngestRun, run_ingest

    settings = prepare()
    sources = list(paths or [])
    if sample:
        sources.append(bundled_sample_path())
    if not sources and not incoming_files(settings):
        summary(f"nothing to ingest: {settings.incoming_dir} is empty")
        return
    run: IngestRun
    with _ingest_progress() as (progress, for_file):
        try:
            run = run_ingest(settings, sources, progress, file_progress=for_file)
        except IngestRefusedError as refused:
            run = refused.run
    for refusal in run.refusals:
        console.print(f"[red]refused:[/red] {refusal}", highlight=False, soft_wrap=True)
    version = ShotStore(settings).data_version()
    history = f"; {run.features}" if run.features else ""
    summary(summarise(run.accepted, version) + _refused(run.refusals) + history)
    if run.refusals:
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
    from nba_mlops.data.verify import verify_from_store

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
