"""``pipeline``: every stage in order."""

from __future__ import annotations

from pathlib import Path

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import fail, prepare, steps, summary


@app.command("pipeline")
def pipeline_command(
    sources: list[Path] = typer.Argument(None, help="Shot files (default: the incoming folder)."),
    sample: bool = typer.Option(False, "--sample", help="Use the bundled real sample."),
    trials: int = typer.Option(None, help="Tuning trials for LightGBM."),
) -> None:
    """Ingest, validate, train, register, promote and batch-predict."""
    from nba_mlops.config import bundled_sample_path
    from nba_mlops.data.ingest import ShotFileError
    from nba_mlops.pipeline import run_pipeline

    settings = prepare()
    if trials is not None:
        settings.training.tuning_trials = trials
    paths = list(sources or [])
    if sample:
        paths.append(bundled_sample_path())
    try:
        with steps("pipeline") as progress:
            report = run_pipeline(settings, paths, progress=progress)
    except ShotFileError as error:
        fail(str(error), code=2)
    except (LookupError, ValueError) as error:
        fail(str(error))
    summary(report.summary())
