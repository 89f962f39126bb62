"""``models list|promote|rollback``: the registry by hand, recorded like any decision."""

from __future__ import annotations

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import fail, out, prepare, summary

models_app = typer.Typer(
    help="Registered model versions and the champion alias.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command("list")
def list_command() -> None:
    """Versions with holdout metrics, the champion alias and each decision."""
    from rich.table import Table

    from nba_mlops.registry import client as registry

    settings = prepare()
    client = registry.configure_mlflow(settings)
    versions = registry.list_versions(client, settings.model_name)
    table = Table(title=f"registered model {settings.model_name}")
    for column in (
        "version",
        "family",
        "created",
        "log loss",
        "no-context",
        "AUC",
        "accuracy",
        "ECE",
        "alias",
        "decision",
        "reason",
    ):
        table.add_column(column, overflow="fold")
    for v in versions:
        m = v.metrics
        table.add_row(
            str(v.version),
            v.family,
            v.created_at.strftime("%Y-%m-%d %H:%M"),
            f"{m.get('holdout_log_loss', float('nan')):.4f}",
            f"{m.get('holdout_nocontext_log_loss', float('nan')):.4f}",
            f"{m.get('holdout_roc_auc', float('nan')):.3f}",
            f"{m.get('holdout_accuracy', float('nan')):.3f}",
            f"{m.get('holdout_ece', float('nan')):.4f}",
            "champion" if v.is_champion else "",
            v.decision,
            v.reason,
        )
    out.print(table)
    champion = next((v.version for v in versions if v.is_champion), None)
    summary(f"{len(versions)} versions; champion: {'v' + str(champion) if champion else 'none'}")


@models_app.command("promote")
def promote_command(
    version: int = typer.Argument(..., help="The version to make champion."),
    reason: str = typer.Option("manual promotion", help="Why, recorded with the decision."),
) -> None:
    """Make VERSION the champion by hand."""
    from mlflow.exceptions import MlflowException

    from nba_mlops.registry import client as registry

    settings = prepare()
    client = registry.configure_mlflow(settings)
    try:
        previous = registry.set_champion(settings, client, version, reason, "manual")
    except MlflowException:
        fail(f"model {settings.model_name!r} has no version {version}")
    summary(f"champion is now v{version} (was {'v' + str(previous) if previous else 'none'})")


@models_app.command("rollback")
def rollback_command(
    reason: str = typer.Option("manual rollback", help="Why, recorded with the decision."),
) -> None:
    """Give the champion alias back to the previous champion."""
    from nba_mlops.registry import client as registry

    settings = prepare()
    client = registry.configure_mlflow(settings)
    current = registry.champion_version(client, settings.model_name)
    try:
        target = registry.rollback(settings, client, reason)
    except ValueError as error:
        fail(str(error))
    summary(f"rolled back: champion is now v{target} (was v{current})")
