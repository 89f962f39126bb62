"""``train`` and ``evaluate``."""

from __future__ import annotations

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import fail, out, prepare, steps, summary


@app.command("train")
def train_command(
    trials: int = typer.Option(None, help="Tuning trials for LightGBM (others get a third)."),
    families: str = typer.Option(
        None, help="Comma-separated families: logistic,random_forest,lightgbm."
    ),
) -> None:
    """Train every candidate family on the shot store, register them, promote the best
    one if it beats the champion on the holdout."""
    from nba_mlops.pipeline import run_training

    settings = prepare()
    if trials is not None:
        settings.training.tuning_trials = trials
    if families:
        settings.training.families = [f.strip() for f in families.split(",") if f.strip()]
    try:
        with steps("train") as progress:
            report = run_training(settings, progress)
    except (LookupError, ValueError) as error:
        fail(str(error))
    summary(report.summary())


@app.command("evaluate")
def evaluate_command(
    version: int = typer.Option(None, help="Model version (default: the champion)."),
) -> None:
    """Score a registered model on the store's holdout, beside both baselines."""
    from rich.table import Table

    from nba_mlops.training.report import evaluate_version

    settings = prepare()
    try:
        with steps("evaluate") as progress:
            result = evaluate_version(settings, version, progress)
    except (LookupError, ValueError) as error:
        fail(str(error))
    table = Table(title=f"holdout season {result.holdout_season} ({result.rows:,} shots)")
    table.add_column("model")
    for metric in ("log_loss", "brier", "roc_auc", "accuracy", "ece"):
        table.add_column(metric, justify="right")
    for name, metrics in result.rows_by_model().items():
        table.add_row(
            name,
            *(f"{metrics[m]:.4f}" for m in ("log_loss", "brier", "roc_auc", "accuracy", "ece")),
        )
    out.print(table)
    summary(result.summary())
