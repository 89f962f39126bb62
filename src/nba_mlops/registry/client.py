"""MLflow access for the registry: versions, the champion alias, decisions, history.

The champion is the MLflow alias ``champion``. Every decision is written as tags on the
model version it concerns and appended to ``<home>/promotions.jsonl``; the registered
model's ``champion_history`` tag lists every champion in order, which ``rollback`` walks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from nba_mlops.config import Settings

CHAMPION_ALIAS = "champion"
HISTORY_TAG = "champion_history"
EXPERIMENT_NAME = "nba-shot-make"


@dataclass
class VersionInfo:
    """One registered model version with what ``models list`` shows."""

    version: int
    run_id: str | None
    family: str
    created_at: dt.datetime
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    is_champion: bool = False

    @property
    def decision(self) -> str:
        return self.tags.get("decision", "")

    @property
    def reason(self) -> str:
        return self.tags.get("decision_reason", "")


def configure_mlflow(settings: Settings) -> MlflowClient:
    """Point MLflow at the settings' tracking store and make sure the experiment exists."""
    settings.mlflow_dir.mkdir(parents=True, exist_ok=True)
    if not settings.mlflow_tracking_uri:
        create_local_store(settings.mlflow_dir / "mlflow.db")
    # MLflow also exports the URI as MLFLOW_TRACKING_URI for subprocesses; Settings reads
    # that variable, so left in place it would silently point every later Settings of
    # this process (another home, another test) at this store. Keep the environment as
    # the user set it.
    user_uris = {v: os.environ.get(v) for v in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    for variable, value in user_uris.items():
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = value
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    if client.get_experiment_by_name(EXPERIMENT_NAME) is None:
        location = None if settings.mlflow_tracking_uri else settings.artifact_location
        client.create_experiment(EXPERIMENT_NAME, artifact_location=location)
    mlflow.set_experiment(EXPERIMENT_NAME)
    return client


def create_local_store(database: Path) -> None:
    """Create the embedded MLflow database with its whole schema, unless it exists.

    MLflow would create it itself, committing its migrations one by one, each commit synced
    to disk: 6.2-6.5 s on the busy 2-core VM (1.2 s of it CPU) where this takes 1.3-1.9 s
    (2026-12-06). Same schema, by MLflow's own code; the file is written unsynced beside
    the database, synced once, then linked into place, so a process that finds it finds it
    whole, and of two creating it at once one wins."""
    if database.exists():
        return
    import sqlalchemy as sa
    from mlflow.store.db.utils import _initialize_tables

    partial = database.with_name(f".{database.name}.{os.getpid()}.partial")
    engine = sa.create_engine(f"sqlite:///{partial}")

    @sa.event.listens_for(engine, "connect")
    def _unsynced(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA journal_mode=MEMORY")

    try:
        _initialize_tables(engine)  # type: ignore[no-untyped-call]
        engine.dispose()
        with partial.open("rb+") as written:
            os.fsync(written.fileno())
        # Fails when another process created it meanwhile: theirs is as good.
        with contextlib.suppress(FileExistsError):
            os.link(partial, database)
    finally:
        engine.dispose()
        partial.unlink(missing_ok=True)


def ensure_registered_model(client: MlflowClient, name: str) -> None:
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="Make probability of an NBA shot.")


def register_version(
    client: MlflowClient, name: str, model_uri: str, run_id: str, model_id: str | None
) -> int:
    """Register a logged model as the next version of ``name`` (which must exist); the
    registry call MLflow's ``log_model`` would make, without its console chatter."""
    version = client.create_model_version(name, model_uri, run_id=run_id, model_id=model_id)
    return int(version.version)


def champion_version(client: MlflowClient, name: str) -> int | None:
    """The version the ``champion`` alias points at, or None before the first promotion."""
    try:
        return int(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version)
    except MlflowException:
        return None


def champion_history(client: MlflowClient, name: str) -> list[int]:
    try:
        model = client.get_registered_model(name)
    except MlflowException:
        return []
    return [int(v) for v in json.loads(model.tags.get(HISTORY_TAG, "[]"))]


def list_versions(client: MlflowClient, name: str) -> list[VersionInfo]:
    """Every version, newest first, with its run's holdout metrics and decision tags."""
    champion = champion_version(client, name)
    out: list[VersionInfo] = []
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return out
    for mv in versions:
        metrics: dict[str, float] = {}
        if mv.run_id:
            try:
                metrics = dict(client.get_run(mv.run_id).data.metrics)
            except MlflowException:
                metrics = {}
        out.append(
            VersionInfo(
                version=int(mv.version),
                run_id=mv.run_id,
                family=mv.tags.get("family", ""),
                created_at=dt.datetime.fromtimestamp(mv.creation_timestamp / 1000, dt.UTC),
                metrics=metrics,
                tags=dict(mv.tags),
                is_champion=int(mv.version) == champion,
            )
        )
    return sorted(out, key=lambda v: v.version, reverse=True)


def record_decision(
    settings: Settings,
    client: MlflowClient,
    version: int,
    decision: str,
    reason: str,
    evidence: dict[str, Any],
) -> None:
    """Tag the version with the decision and append it to the promotions log."""
    name = settings.model_name
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    tags = {"decision": decision, "decision_reason": reason, "decided_at": now}
    tags.update({f"evidence.{k}": str(v) for k, v in evidence.items()})
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value[:5000])
    settings.home.mkdir(parents=True, exist_ok=True)
    entry = {
        "at": now,
        "model": name,
        "version": version,
        "decision": decision,
        "reason": reason,
        **evidence,
    }
    with (settings.home / "promotions.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry, default=str) + "\n")


def set_champion(
    settings: Settings, client: MlflowClient, version: int, reason: str, how: str
) -> int | None:
    """Move the alias to ``version``; returns the previous champion. ``how``: promoted,
    manual or rollback. The move and its reason are recorded like any decision."""
    name = settings.model_name
    client.get_model_version(name, str(version))  # raises for an unknown version
    previous = champion_version(client, name)
    client.set_registered_model_alias(name, CHAMPION_ALIAS, str(version))
    history = champion_history(client, name)
    if how == "rollback":
        history = history[:-1] if history and history[-1] == previous else history
    if not history or history[-1] != version:
        history.append(version)
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history))
    record_decision(
        settings,
        client,
        version,
        how,
        reason,
        {"previous_champion": previous if previous is not None else "none"},
    )
    return previous


def rollback(settings: Settings, client: MlflowClient, reason: str = "manual rollback") -> int:
    """Give the alias back to the champion before the current one; returns that version."""
    history = champion_history(client, settings.model_name)
    current = champion_version(client, settings.model_name)
    if current is None or len(history) < 2:
        raise ValueError("there is no earlier champion to roll back to")
    target = history[-2]
    set_champion(settings, client, target, reason, how="rollback")
    return target
