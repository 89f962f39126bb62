"""``up``: the whole product on the bundled sample in one process (what ``make up`` runs):
ingest, train and promote, batch-predict, then serve the API and court page."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import prepare, steps, summary
from nba_mlops.cli.serve import Service, prepare_service, run_server
from nba_mlops.cli.train import Profile, apply_training_options
from nba_mlops.config import Settings
from nba_mlops.stops import Stopped, StopSignals


def activate_hint() -> str | None:
    """The line that puts ``nba-mlops`` on a new shell's PATH, when it is not there: the
    command runs from a virtual environment (``uv run``, ``make``) that shells don't see."""
    if sys.prefix == sys.base_prefix:
        return None  # installed for the whole interpreter: on the PATH already
    activate = Path(sys.prefix) / "bin" / "activate"
    try:
        shown = activate.relative_to(Path.cwd())
    except ValueError:
        shown = activate
    return f"`source {shown}`"


@app.command("up")
def up_command(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, envvar="NBA_MLOPS_PORT", help="Port of the API and page."),
    profile: Profile = typer.Option(
        Profile.quick, help="Training profile: quick (each family on its defaults) or full."
    ),
) -> None:
    """Ingest the bundled sample, train and promote a champion, batch-predict, then serve
    the API and the court page until Ctrl-C. Run again, it serves the champion as it is
    when the store has not changed since it was trained."""
    settings = prepare()
    apply_training_options(settings, trials=None, profile=profile)
    with StopSignals():
        try:
            with steps("up") as progress:
                summary(_bring_up(settings, progress))
            prepare_service(settings, Service.api, port, migrate_first=True)
        except Stopped as stop:
            summary(f"stopped by {stop.how} before serving; goodbye")
            return
    hint = activate_hint()
    if hint:
        summary(f"in a new shell here, {hint} puts nba-mlops on the PATH{_home_hint(settings)}")
    run_server(settings, Service.api, host, port)


def _bring_up(settings: Settings, progress: Callable[[str], None]) -> str:
    """The pipeline on the bundled sample, unless the champion was trained on the store as
    it is and the sample brings nothing new; what was done, in a line."""
    from nba_mlops.config import bundled_sample_path
    from nba_mlops.pipeline import run_ingest, run_pipeline

    sample = bundled_sample_path()
    champion = current_champion(settings)
    if champion is not None:
        new = run_ingest(settings, [sample], progress).rows_new
        if new == 0:
            return (
                f"the store has not changed since champion v{champion} was trained: serving "
                "it as it is (nba-mlops train trains again)"
            )
    return run_pipeline(settings, [sample], progress=progress).summary()


def current_champion(settings: Settings) -> int | None:
    """The champion's version when it was trained on the store's current data version."""
    from nba_mlops.data.store import ShotStore

    store = ShotStore(settings).data_version()
    if not store.rows:
        return None
    from nba_mlops.registry import NoChampionError, Registry

    registry = Registry(settings)
    try:
        champion = registry.champion()
    except NoChampionError:
        return None
    run_id = champion.run_id
    trained_on = registry.run(run_id).tags.get("data_version") if run_id else None
    return champion.version if trained_on == store.hash else None


def _home_hint(settings: Settings) -> str:
    home = settings.home.resolve()
    if home == (Path.cwd() / "var").resolve():
        return ""  # the default home, seen from this folder
    return f" and `export NBA_MLOPS_HOME={home}` finds this state"
