"""``train`` and ``evaluate``."""

from __future__ import annotations

import enum

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import JSON_OPTION, fail, out, prepare, print_json, steps, summary, table
from nba_mlops.config import Settings


class Profile(enum.StrEnum):
    full = "full"
    quick = "quick"


def apply_training_options(
    settings: Settings, *, trials: int | None, profile: Profile | None
) -> None:
    """The command line's training options over the settings from the environment; asking
    for a number of trials without a profile asks for the full search."""
    if profile is None and trials is not None:
        profile = Profile.full
    if profile is not None:
        settings.training.profile = "quick" if profile is Profile.quick else "full"
    if trials is not None:
        settings.training.tuning_trials = trials


@app.command("train")
def train_command(
    trials: int = typer.Option(None, help="Tuning trials for LightGBM (others get a quarter)."),
    families: str = typer.Option(
        None, help="Comma-separated families: logistic,random_forest,lightgbm."
    ),
    profile: Profile = typer.Option(
        None,
        help="full: search each family's hyper-parameters; quick: each family on its "
        "defaults. Default: NBA_MLOPS_TRAINING__PROFILE (full).",
    ),
) -> None:
    """Train every candidate family on the shot store, register them, promote the best
    one if it beats the champion on the holdout."""
    from nba_mlops.db.session import DatabaseUnavailableError
    from nba_mlops.pipeline import run_training
    from nba_mlops.training.lock import TrainingInProgressError

    settings = prepare()
    apply_training_options(settings, trials=trials, profile=profile)
    if families:
        settings.training.families = [f.strip() for f in families.split(",") if f.strip()]
    try:
        with steps("train") as progress:
            report = run_training(settings, progress, owner="nba-mlops train")
    except (LookupError, ValueError, TrainingInProgressError, DatabaseUnavailableError) as error:
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
    save_quality: bool = typer.Option(
        False,
        "--save-quality",
        help="Keep the quality by slice in the version's run, where GET /models/current "
        "and the Model page read it (for a version trained before it was kept).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Score a registered model on the store's holdout, beside the baselines, and by
    slice; or backtest the training on the last K seasons."""
    from nba_mlops.evaluation import BACKTEST_MODELS, evaluate_version
    from nba_mlops.evaluation import backtest as run_backtest
    from nba_mlops.registry import Registry

    settings = prepare()
    metrics = ("log_loss", "roc_auc", "accuracy", "ece")
    if backtest:
        try:
            with steps("backtest") as progress:
                result = run_backtest(settings, backtest, progress=progress)
        except (LookupError, ValueError) as error:
            fail(str(error))
        if as_json:
            print_json(
                {
                    "seasons": [
                        {"season": season.label, "shots": season.rows_scored, **season.metrics}
                        for season in result.seasons
                    ],
                    "pooled": {name: result.pooled(name) for name in BACKTEST_MODELS},
                }
            )
            return
        listing = table("backtests: each season scored by a model trained before it")
        listing.add_column("season", no_wrap=True)
        listing.add_column("model", no_wrap=True)
        for metric in metrics:
            listing.add_column(metric, justify="right", no_wrap=True)
        for season in result.seasons:
            for name in BACKTEST_MODELS:
                values = season.metrics[name]
                listing.add_row(season.label, name, *(f"{values[m]:.4f}" for m in metrics))
        out.print(listing)
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
            if save_quality and evaluation.quality is not None:
                progress("keeping the quality by slice in the version's run")
                Registry(settings).save_quality(evaluation.version, evaluation.quality)
    except (LookupError, ValueError) as error:
        fail(str(error))
    columns = ("log_loss", "brier", "roc_auc", "accuracy", "ece")
    if as_json:
        print_json(
            {
                "version": evaluation.version,
                "holdout": evaluation.holdout,
                "shots": evaluation.rows,
                "models": evaluation.rows_by_model(),
                "quality": evaluation.quality,
            }
        )
        return
    listing = table(f"holdout: {evaluation.holdout} ({evaluation.rows:,} shots)")
    listing.add_column("model", no_wrap=True)
    for metric in columns:
        listing.add_column(metric, justify="right", no_wrap=True)
    for name, values in evaluation.rows_by_model().items():
        listing.add_row(name, *(f"{values[m]:.4f}" for m in columns))
    out.print(listing)
    if evaluation.quality is not None:
        slices = table(f"v{evaluation.version} by slice of the holdout")
        for name in ("slice", "value", "shots", "log_loss", "ece", "accuracy"):
            slices.add_column(
                name, no_wrap=True, justify="left" if name in {"slice", "value"} else "right"
            )
        for name, lines in evaluation.quality["slices"].items():
            for line in lines:
                slices.add_row(
                    name,
                    line["value"],
                    f"{line['shots']:,}",
                    *(f"{line[m]:.4f}" for m in ("log_loss", "ece", "accuracy")),
                )
        out.print(slices)
    summary(evaluation.summary())
