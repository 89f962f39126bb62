"""``pipeline``: every stage in order."""

from __future__ import annotations

from pathlib import Path

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import fail, prepare, steps, summary
from nba_mlops.cli.train import Profile, apply_training_options


@app.command("pipeline")
def pipeline_command(
    sources: list[Path] = typer.Argument(None, help="Shot files (default: the incoming folder)."),
    sample: bool = typer.Option(False, "--sample", help="Use the bundled real sample."),
    trials: int = typer.Option(None, help="Tuning trials for LightGBM."),
    profile: Profile = typer.Option(
        None,
        help="full: search each family's hyper-parameters; quick: each family on its "
        "defaults. Default: quick with --sample, else the setting (full).",
    ),
) -> None:
    """Ingest, validate, train, register, promote and batch-predict."""
    from nba_mlops.config import bundled_sample_path
    from nba_mlops.data.ingest import ShotFileError
    from nba_mlops.db.session import DatabaseUnavailableError
    from nba_mlops.pipeline import run_pipeline
    from nba_mlops.training.lock import TrainingInProgressError

    settings = prepare()
    if profile is None and sample and trials is None:
        profile = Profile.quick  # the bundled sample: a demo, not worth a search
    apply_training_options(settings, trials=trials, profile=profile)
    paths = list(sources or [])
    if sample:
        paths.append(bundled_sample_path())
    try:
        with steps("pipeline") as progress:
            report = run_pipeline(settings, paths, progress=progress)
    except ShotFileError as error:
        fail(str(error), code=2)
    except (LookupError, ValueError, TrainingInProgressError, DatabaseUnavailableError) as error:
        fail(str(error))
    summary(report.summary())
