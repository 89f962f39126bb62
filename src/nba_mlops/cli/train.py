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
    backtest: int = typer.Option(
        0,
        "--backtest",
        metavar="K",
        help="Instead: for each of the store's last K seasons, train on the seasons "
        "before it and score it through predict-batch.",
    ),
) -> None:
    """Score a registered model on the store's holdout, beside the baselines; or backtest
    the training on the last K seasons."""
    from rich.table import Table

    from nba_mlops.evaluation import BACKTEST_MODELS, evaluate_version
    from nba_mlops.evaluation import backtest as run_backtest

    settings = prepare()
    metrics = ("log_loss", "roc_auc", "accuracy", "ece")
    if backtest:
        try:
            with steps("backtest") as progress:
                result = run_backtest(settings, backtest, progress=progress)
        except (LookupError, ValueError) as error:
            fail(str(error))
        table = Table(title="backtests: each season scored by a model trained before it")
        table.add_column("season")
        table.add_column("model")
        for metric in metrics:
            table.add_column(metric, justify="right")
        for season in result.seasons:
            for name in BACKTEST_MODELS:
                values = season.metrics[name]
                table.add_row(season.label, name, *(f"{values[m]:.4f}" for m in metrics))
        out.print(table)
        pooled = result.pooled("model (predict-batch)")
        reference = result.pooled("quick reference")
        summary(
            f"{len(result.seasons)} backtests, {sum(s.rows_scored for s in result.seasons):,} "
            f"shots: log loss {pooled['log_loss']:.4f}, AUC {pooled['roc_auc']:.4f}, ECE "
            f"{pooled['ece']:.4f} (quick reference {reference['log_loss']:.4f}); table in "
            f"{settings.reports_dir}"
        )
        return
    try:
        with steps("evaluate") as progress:
            evaluation = evaluate_version(settings, version, progress)
    except (LookupError, ValueError) as error:
        fail(str(error))
    table = Table(title=f"holdout: {evaluation.holdout} ({evaluation.rows:,} shots)")
    table.add_column("model")
    for metric in ("log_loss", "brier", "roc_auc", "accuracy", "ece"):
        table.add_column(metric, justify="right")
    for name, values in evaluation.rows_by_model().items():
        table.add_row(
            name,
            *(f"{values[m]:.4f}" for m in ("log_loss", "brier", "roc_auc", "accuracy", "ece")),
        )
    out.print(table)
    summary(evaluation.summary())
