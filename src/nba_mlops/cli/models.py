"""``models list|promote|rollback``: the registry by hand, recorded like any decision."""

from __future__ import annotations

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import JSON_OPTION, fail, out, prepare, print_json, summary, table

models_app = typer.Typer(
    help="Registered model versions and the champion alias.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command("list")
def list_command(as_json: bool = JSON_OPTION) -> None:
    """Versions with holdout metrics, the champion alias and each decision."""
    from nba_mlops.registry import Registry, VersionInfo

    settings = prepare()
    versions = Registry(settings).list_versions()
    champion = next((v.version for v in versions if v.is_champion), None)
    if as_json:
        print_json(
            {
                "model": settings.model_name,
                "champion": champion,
                "versions": [
                    {
                        "version": v.version,
                        "family": v.family,
                        "created_at": v.created_at.isoformat(timespec="seconds"),
                        "is_champion": v.is_champion,
                        "decision": v.decision,
                        "reason": v.reason,
                        "run_id": v.run_id,
                        "holdout": {
                            key.removeprefix("holdout_"): value
                            for key, value in sorted(v.metrics.items())
                            if key.startswith("holdout_")
                        },
                    }
                    for v in versions
                ],
            }
        )
        return
    listing = table(f"registered model {settings.model_name} (holdout figures)")
    for column in ("version", "family", "created"):
        listing.add_column(column, no_wrap=True)
    for column in ("log loss", "no ctx", "AUC", "accuracy"):
        listing.add_column(column, justify="right", no_wrap=True)
    listing.add_column("status", no_wrap=True)

    def metric(v: VersionInfo, key: str, digits: int) -> str:
        value = v.metrics.get(key)
        return "-" if value is None else f"{value:.{digits}f}"

    for v in versions:
        listing.add_row(
            f"v{v.version}",
            v.family,
            v.created_at.strftime("%Y-%m-%d"),
            metric(v, "holdout_log_loss", 4),
            metric(v, "holdout_nocontext_log_loss", 4),
            metric(v, "holdout_roc_auc", 3),
            metric(v, "holdout_accuracy", 3),
            "champion" if v.is_champion else v.decision,
        )
    out.print(listing)
    # The reasons are sentences: one wrapped line each below the table, not a column.
    for v in versions:
        if v.reason:
            out.print(f"v{v.version} {v.decision}: {v.reason}", highlight=False)
    summary(
        f"{len(versions)} versions; champion: {'v' + str(champion) if champion else 'none'}; "
        "no ctx: log loss without the shooter and game context"
    )


@models_app.command("promote")
def promote_command(
    version: int = typer.Argument(..., help="The version to make champion."),
    reason: str = typer.Option("manual promotion", help="Why, recorded with the decision."),
) -> None:
    """Make VERSION the champion by hand."""
    from nba_mlops.registry import Registry, RegistryLookupError

    settings = prepare()
    try:
        previous = Registry(settings).set_champion(version, reason, "manual")
    except RegistryLookupError:
        fail(f"model {settings.model_name!r} has no version {version}")
    summary(f"champion is now v{version} (was {'v' + str(previous) if previous else 'none'})")


@models_app.command("rollback")
def rollback_command(
    reason: str = typer.Option("manual rollback", help="Why, recorded with the decision."),
) -> None:
    """Give the champion alias back to the previous champion."""
    from nba_mlops.registry import Registry

    registry = Registry(prepare())
    current = registry.champion_version()
    try:
        target = registry.rollback(reason)
    except ValueError as error:
        fail(str(error))
    summary(f"rolled back: champion is now v{target} (was v{current})")
