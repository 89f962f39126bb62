"""``monitor report``: the drift and live-quality report as one HTML file."""

from __future__ import annotations

from pathlib import Path

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import fail, prepare, steps, summary

monitor_app = typer.Typer(help="Model monitoring: drift and live quality.", no_args_is_help=True)
app.add_typer(monitor_app, name="monitor")


@monitor_app.command("report")
def report_command(
    out: Path = typer.Option(
        None, "--out", dir_okay=False, help="Where to write the HTML (default: reports/)."
    ),
) -> None:
    """Compare recent requests with the champion's training shots and summarise live
    quality per model version, in one self-contained HTML page."""
    from nba_mlops.monitoring.build import build_monitoring_report, monitoring_snapshot

    settings = prepare()
    try:
        with steps("monitoring report") as progress:
            progress("reading predictions and the champion's reference")
            snapshot = monitoring_snapshot(settings)
            progress("rendering")
            path = build_monitoring_report(settings, out, snapshot=snapshot)
    except LookupError as error:
        fail(str(error))
    summary(f"wrote {path}: {snapshot.summary()}")
