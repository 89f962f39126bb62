"""``orchestrate dev|run|config|worker``: the retraining loop on Dagster.

``dev`` serves the Dagster UI with the daemon (schedules, sensors, run queue) on an
instance under ``<home>/dagster``; ``run`` executes one job in this process on the same
instance, for a cron line or a CI step that has no daemon; ``worker`` runs a Celery worker
that executes the steps of runs whose jobs use the Celery executor (the deployment's).
"""

from __future__ import annotations

import enum
import json
import os
import sys
from pathlib import Path
from typing import Any

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import console, fail, prepare, steps, summary
from nba_mlops.log import setup_logging

orchestrate_app = typer.Typer(
    help="Run the retraining loop on Dagster (assets, schedules, sensors).",
    no_args_is_help=True,
)
app.add_typer(orchestrate_app, name="orchestrate")

DEFINITIONS_MODULE = "nba_mlops.orchestration.definitions"


class JobName(enum.StrEnum):
    new_data = "new-data"
    ingest = "ingest"
    retrain = "retrain"
    monitoring = "monitoring"
    full_pipeline = "full-pipeline"

    @property
    def dagster_name(self) -> str:
        return f"{self.value.replace('-', '_')}_job"


def _prepare_instance() -> tuple[Any, Path]:
    from nba_mlops.orchestration.instance import write_instance_config

    settings = prepare()
    # Dagster shows the package's log records itself (``python_logs`` in dagster.yaml).
    setup_logging(settings, console=False)
    dagster_home = write_instance_config(settings)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    # Child processes (webserver, daemon, run workers) must find the same data directory.
    os.environ["NBA_MLOPS_HOME"] = str(settings.home.resolve())
    return settings, dagster_home


def dev_command_line(host: str, port: int) -> list[str]:
    """``dagster dev`` on this package's definitions, with the current interpreter."""
    return [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        DEFINITIONS_MODULE,
        "--host",
        host,
        "--port",
        str(port),
    ]


@orchestrate_app.command("dev")
def dev_command(
    host: str = typer.Option("127.0.0.1", help="Address of the Dagster UI."),
    port: int = typer.Option(3000, help="Port of the Dagster UI."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the command, start nothing."),
) -> None:
    """Start the Dagster UI and daemon on <home>/dagster (schedules and sensors on)."""
    _, dagster_home = _prepare_instance()
    command = dev_command_line(host, port)
    summary(f"DAGSTER_HOME={dagster_home} {' '.join(command[1:])}")
    if dry_run:
        return
    console.print(f"Dagster UI on http://{host}:{port} (Ctrl-C stops it)")
    os.execvpe(command[0], command, os.environ)  # replaces this process: signals go to Dagster


@orchestrate_app.command("worker")
def worker_command(
    concurrency: int = typer.Option(1, min=1, help="Steps run at once by this worker."),
    name: str = typer.Option(None, help="Worker name (default: celery's, on this host)."),
    queue: list[str] = typer.Option(
        None, "--queue", help="Celery queue to take steps from (repeatable; default: dagster)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the command, start nothing."),
) -> None:
    """Run a Celery worker for the steps of Dagster runs (NBA_MLOPS_CELERY_BROKER_URL).

    Start it on any host that reaches the broker, the Dagster instance's database (the
    DAGSTER_PG_* variables of the deployment's dagster.yaml), the application database,
    MLflow and the shared data directory (NBA_MLOPS_HOME).
    """
    from nba_mlops.orchestration.executors import (
        BROKER_ENV,
        QUEUE,
        broker_url_problem,
        worker_command_line,
    )

    command = worker_command_line(name=name, queues=queue or [QUEUE], concurrency=concurrency)
    summary(" ".join(command[1:]))
    if dry_run:
        return
    if not os.environ.get(BROKER_ENV):
        fail(f"set {BROKER_ENV} to the Celery broker's URL (RabbitMQ)")
    problem = broker_url_problem(os.environ[BROKER_ENV])
    if problem:
        fail(problem)
    os.execvpe(command[0], command, os.environ)  # replaces this process: SIGTERM stops it


@orchestrate_app.command("config")
def config_command() -> None:
    """Write <home>/dagster/dagster.yaml (run queue limits, logging) and print its path."""
    _, dagster_home = _prepare_instance()
    summary(f"wrote {dagster_home / 'dagster.yaml'}; export DAGSTER_HOME={dagster_home}")


def _plain(value: Any) -> Any:
    """A metadata value as JSON-compatible data."""
    inner = getattr(value, "value", value)
    if isinstance(inner, str | int | float | bool) or inner is None:
        return inner
    if isinstance(inner, dict | list):
        return json.loads(json.dumps(inner, default=str))
    return str(inner)


def run_job(job: JobName, home: Path | None = None) -> dict[str, Any]:
    """Execute one job in this process on the local instance; returns what it did."""
    import dagster as dg

    from nba_mlops.orchestration.definitions import build_definitions
    from nba_mlops.orchestration.jobs import TRIGGER_TAG
    from nba_mlops.orchestration.resources import NbaMlopsResource

    definitions = build_definitions(resource=NbaMlopsResource(home=str(home) if home else None))
    job_def = definitions.resolve_job_def(job.dagster_name)
    with dg.DagsterInstance.get() as instance:
        result = job_def.execute_in_process(
            instance=instance, raise_on_error=False, tags={TRIGGER_TAG: "cli"}
        )
    assets = {
        event.asset_key.to_user_string(): {
            key: _plain(value) for key, value in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
        if event.asset_key is not None and event.materialization is not None
    }
    failures = [
        f"{event.step_key}: {event.step_failure_data.error.message.strip()}"
        for event in result.all_events
        if event.is_step_failure and event.step_failure_data.error is not None
    ]
    decision = assets.get("promotion_decision", {})
    return {
        "job": job.dagster_name,
        "run_id": result.run_id,
        "success": result.success,
        "promoted": bool(decision.get("promoted", False)),
        "champion_version": decision.get("champion_version"),
        "failures": failures,
        "assets": assets,
    }


@orchestrate_app.command("run")
def run_command(
    job: JobName = typer.Argument(..., help="Which job to run."),
    result_json: Path = typer.Option(
        None, "--result-json", dir_okay=False, help="Also write the outcome as JSON here."
    ),
) -> None:
    """Run one job now, in this process, on the local Dagster instance (no daemon needed)."""
    settings, _ = _prepare_instance()
    with steps(f"orchestrate {job.value}") as progress:
        progress(f"running {job.dagster_name}")
        outcome = run_job(job, settings.home)
    if result_json is not None:
        result_json.parent.mkdir(parents=True, exist_ok=True)
        result_json.write_text(json.dumps(outcome, indent=2) + "\n", encoding="utf-8")
    if not outcome["success"]:
        fail(
            f"{job.dagster_name} failed (run {outcome['run_id']}): "
            + " | ".join(outcome["failures"])
        )
    done = ", ".join(outcome["assets"]) or "nothing"
    promoted = ""
    if "promotion_decision" in outcome["assets"]:
        promoted = (
            f"; champion v{outcome['champion_version']}"
            f"{' (newly promoted)' if outcome['promoted'] else ' (kept)'}"
        )
    summary(
        f"{job.dagster_name} succeeded (run {outcome['run_id']}): materialized {done}{promoted}"
    )
