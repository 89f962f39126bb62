"""``serve``: run the API gateway (migrations first) or the prediction service with uvicorn."""

from __future__ import annotations

import contextlib
import enum
import os
import shutil

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import console, fail, prepare, summary
from nba_mlops.config import Settings
from nba_mlops.stops import Stopped, StopSignals


class Service(enum.StrEnum):
    api = "api"
    prediction = "prediction"


_FACTORIES = {
    Service.api: "nba_mlops.api.app:create_app_from_env",
    Service.prediction: "nba_mlops.api.service_app:create_service_app_from_env",
}
_DEFAULT_PORTS = {Service.api: 8000, Service.prediction: 8001}


def prepare_metrics_dir(settings: Settings, service: Service, port: int) -> None:
    """Point every worker at one fresh directory for Prometheus multiprocess metrics.

    Must happen before any worker imports ``prometheus_client``; files of an earlier run
    are removed so its counters do not leak into this one.
    """
    directory = settings.home / "prometheus" / f"{service.value}-{port}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory.resolve())


def migrate_with_retry(settings: Settings, wait_s: float = 60.0) -> None:
    """``alembic upgrade head``, waiting up to ``wait_s`` for a database still starting."""
    from tenacity import Retrying, stop_after_delay, wait_exponential

    from nba_mlops.db import migrate

    for attempt in Retrying(
        stop=stop_after_delay(wait_s), wait=wait_exponential(0.5, max=5.0), reraise=True
    ):
        with attempt:
            if attempt.retry_state.attempt_number > 1:
                console.print("waiting for the database ...")
            migrate.upgrade(settings)


def prepare_service(
    settings: Settings, service: Service, port: int, *, migrate_first: bool
) -> None:
    """What must happen once before the server starts: the metrics folder, the database
    schema, the token signing key and the first administrator."""
    prepare_metrics_dir(settings, service, port)
    if service is not Service.api:
        return
    from nba_mlops.auth.tokens import load_or_create_secret
    from nba_mlops.auth.users import WeakPasswordError, ensure_admin
    from nba_mlops.db.session import Database

    if migrate_first:
        try:
            migrate_with_retry(settings)
        except Exception as exc:
            fail(f"could not migrate the database at {settings.db_url.split('@')[-1]}: {exc}")
    load_or_create_secret(settings)  # once here, before workers race to create it
    if settings.admin_username and settings.admin_password is not None:
        db = Database(settings)
        try:
            ensure_admin(db, settings)
        except WeakPasswordError as exc:
            fail(f"NBA_MLOPS_ADMIN_PASSWORD is refused: {exc}")
        finally:
            db.dispose()


def run_server(
    settings: Settings, service: Service, host: str, port: int, workers: int = 1
) -> None:
    """Serve until Ctrl-C or SIGTERM, then say so in one line and return."""
    import uvicorn

    if workers > 1:
        from nba_mlops.lifeline import SUPERVISOR_ENV

        # Workers end with this process, even when it is killed (nba_mlops.lifeline).
        os.environ[SUPERVISOR_ENV] = str(os.getpid())
    url = f"http://{host}:{port}"
    summary(
        f"serving {service.value} on {url} with {workers} worker(s); docs at {url}/docs; "
        "Ctrl-C stops"
    )
    # uvicorn returns once it has shut down: on a stop signal (it swallows the
    # KeyboardInterrupt the re-raised one becomes), never otherwise.
    with StopSignals() as stops, contextlib.suppress(Stopped):
        uvicorn.run(
            _FACTORIES[service],
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_level=settings.log_level.lower(),
            backlog=4096,
            timeout_keep_alive=30,
            # A worker imports MLflow and loads the model before it is ready: seconds,
            # more on a busy machine. uvicorn's 5 s default would kill and restart it
            # in a loop.
            timeout_worker_healthcheck=90,
            server_header=False,
            # X-Forwarded-For is read by the app, from serving.trusted_proxies only.
            proxy_headers=False,
        )
    how = f"stopped by {stops.received.how}" if stops.received else "stopped"
    summary(f"{how}: {service.value} on {url} is closed; goodbye")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."),
    port: int | None = typer.Option(None, help="Port; default 8000 (api), 8001 (prediction)."),
    workers: int = typer.Option(1, min=1, help="Worker processes (about one per CPU core)."),
    service: Service = typer.Option(
        Service.api,
        help="api: the gateway (users, predictions, web page); prediction: the "
        "model service alone (point the gateway at it with PREDICTION_SERVICE_URL).",
    ),
    migrate_first: bool = typer.Option(
        True, "--migrate/--no-migrate", help="Upgrade the database before starting (api)."
    ),
) -> None:
    """Serve the champion over HTTP; it follows the champion alias without a restart."""
    settings = prepare()
    port = port or _DEFAULT_PORTS[service]
    prepare_service(settings, service, port, migrate_first=migrate_first)
    run_server(settings, service, host, port, workers)
