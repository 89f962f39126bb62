"""``predict-batch``: score a shot file with the champion."""

from __future__ import annotations

from pathlib import Path

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import counter, fail, prepare, summary
from nba_mlops.stops import Stopped, StopSignals


@app.command("predict-batch")
def predict_batch_command(
    source: Path = typer.Argument(..., exists=True, dir_okay=False, help="A shot file."),
    out: Path = typer.Option(
        ..., "--out", dir_okay=False, help="Where to write the scored CSV (a file)."
    ),
    version: int = typer.Option(None, help="Model version (default: the champion)."),
    chunk_rows: int = typer.Option(150_000, min=1, help="Rows per chunk (bounds memory)."),
) -> None:
    """Score SOURCE: its columns plus make_probability, prediction and model_version."""
    from nba_mlops.inference import workers

    settings = prepare()
    try:
        # SIGTERM as Ctrl-C: the scoring stops its workers and removes its files (a large
        # file's slices wait in /dev/shm, which is memory) instead of dying on the spot
        with StopSignals(), counter("scoring", None) as advance:
            # A large file's workers come from a fork server that takes a second or more
            # to import what they need: it starts first, and imports while this process
            # imports the same for itself.
            workers.start_for(source, settings.serving.large_file_rows)
            from nba_mlops.inference.batch import predict_batch

            report = predict_batch(
                settings, source, out, chunk_rows=chunk_rows, version=version, on_chunk=advance
            )
    except Stopped as stopped:
        fail(
            f"stopped by {stopped.how}: {out} was not written (an earlier one is kept)",
            128 + stopped.signum,
        )
    except Exception as error:
        code = _exit_code(error)
        if code is None:
            raise
        fail(str(error), code)
    summary(report.summary())


def _exit_code(error: Exception) -> int | None:
    """The exit status of a scoring that failed for a reason the user can act on (the
    message says what): 2 for a file that is no shot file; None for any other error."""
    from nba_mlops.data.ingest import ShotFileError
    from nba_mlops.inference.batch import BatchSpaceError

    if isinstance(error, ShotFileError):
        return 2
    if isinstance(error, BatchSpaceError | LookupError):
        return 1
    return None
