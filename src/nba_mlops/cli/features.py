"""``features refresh|show``: the shot history behind every shot's context."""

from __future__ import annotations

import typer

from nba_mlops.cli.app import app
from nba_mlops.cli.console import JSON_OPTION, fail, prepare, print_json, steps, summary

features_app = typer.Typer(
    help="The shot history (shooter skill, game so far) and the API's online table.",
    no_args_is_help=True,
)
app.add_typer(features_app, name="features")


@features_app.command("refresh")
def refresh_command() -> None:
    """Bring the history and the online table up to the store (every ingest does)."""
    from nba_mlops.pipeline import refresh_features

    settings = prepare()
    try:
        with steps("features") as progress:
            progress("computing the shot history")
            published = refresh_features(settings)
    except Exception as exc:
        fail(f"could not refresh the shot history: {exc}")
    summary(published)


@features_app.command("show")
def show_command(as_json: bool = JSON_OPTION) -> None:
    """Which store version the history and the online table hold."""
    from nba_mlops.data.store import ShotStore
    from nba_mlops.db import online as db_online
    from nba_mlops.db.session import Database
    from nba_mlops.features.snapshots import FeatureSnapshots

    settings = prepare()
    store = ShotStore(settings).data_version()
    snapshot = FeatureSnapshots(settings).current()
    db = Database(settings)
    try:
        published = db_online.read_snapshot(db)
    except Exception:
        published = None
    finally:
        db.dispose()
    if as_json:
        print_json(
            {
                "store": {"data_version": store.hash, "shots": store.rows},
                "history": (
                    {"data_version": snapshot.data_version, "shots": snapshot.rows}
                    if snapshot
                    else None
                ),
                "online_table": (
                    {"data_version": str(published["data_version"])} if published else None
                ),
                "up_to_date": bool(
                    snapshot
                    and published
                    and snapshot.data_version == store.hash == published["data_version"]
                ),
            }
        )
        return
    history = (
        f"history of {snapshot.data_version[:8]} ({snapshot.rows:,} shots)"
        if snapshot
        else "no history computed"
    )
    online = (
        f"online table of {str(published['data_version'])[:8]}"
        if published
        else "no online table published"
    )
    behind = (
        ""
        if snapshot
        and published
        and snapshot.data_version == store.hash == published["data_version"]
        else " (behind the store: run `nba-mlops features refresh`)"
        if store.rows
        else ""
    )
    summary(f"store {store.short}: {history}; {online}{behind}")
