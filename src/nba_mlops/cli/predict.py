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
    out: Path = typer.Option(..., "--out", help="Where to write the scored CSV."),
    version: int = typer.Option(None, help="Model version (default: the champion)."),
    chunk_rows: int = typer.Option(150_000, help="Rows per chunk (bounds memory)."),
) -> None:
    """Score SOURCE: its columns plus make_probability, prediction and model_version."""
    from nba_mlops.data.ingest import ShotFileError
    from nba_mlops.inference.batch import BatchSpaceError, predict_batch

    settings = prepare()
    try:
        # SIGTERM as Ctrl-C: the scoring stops its workers and removes its files (a large
        # file's slices wait in /dev/shm, which is memory) instead of dying on the spot
        with StopSignals(), counter("scoring", None) as advance:
            report = predict_batch(
                settings, source, out, chunk_rows=chunk_rows, version=version, on_chunk=advance
            )
    except Stopped as stopped:
        fail(
            f"stopped by {stopped.how}: {out} was not written (an earlier one is kept)",
            128 + stopped.signum,
        )
    except ShotFileError as error:
        fail(str(error), code=2)
    except BatchSpaceError as error:
        fail(str(error))
    except LookupError as error:
        fail(str(error))
    summary(report.summary())
