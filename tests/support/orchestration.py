"""Helpers of the orchestration tests: quick settings, in-process runs, predictions in the
application database, and a deliberately weak champion that any retrain replaces."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sqlalchemy import func, select

from nba_mlops.config import Settings, bundled_sample_path
from nba_mlops.db import migrate
from nba_mlops.db.models import Prediction, ShotOutcome
from nba_mlops.db.session import Database
from nba_mlops.features.serving import to_model_frame
from nba_mlops.orchestration.assets import build_assets
from nba_mlops.orchestration.definitions import build_definitions
from nba_mlops.orchestration.resources import NbaMlopsResource
from nba_mlops.orchestration.settings import OrchestrationSettings
from nba_mlops.registry import REFERENCE_ARTIFACT, Registry

#: One family, one trial: a training run takes seconds, not minutes.
QUICK_TRAINING_ENV = {
    "NBA_MLOPS_TRAINING__FAMILIES": '["logistic"]',
    "NBA_MLOPS_TRAINING__TUNING_TRIALS": "1",
    "NBA_MLOPS_TRAINING__TUNING_ROWS": "20000",
}


def quick_training(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in QUICK_TRAINING_ENV.items():
        monkeypatch.setenv(key, value)


def quick_orchestration(**overrides: Any) -> OrchestrationSettings:
    """Retries without waiting, sensors that do not wait for files to settle."""
    values: dict[str, Any] = {"retry_max": 2, "retry_delay_s": 0.01, "incoming_settle_s": 0.0}
    values.update(overrides)
    return OrchestrationSettings(**values)


def resource_for(settings: Settings, **overrides: Any) -> NbaMlopsResource:
    return NbaMlopsResource(home=str(settings.home), **overrides)


def definitions_for(settings: Settings, **overrides: Any) -> dg.Definitions:
    return build_definitions(quick_orchestration(**overrides), resource_for(settings))


def materialize(
    settings: Settings,
    selection: Sequence[str] | None = None,
    *,
    instance: dg.DagsterInstance | None = None,
    orchestration: OrchestrationSettings | None = None,
    **resource: Any,
) -> dg.ExecuteInProcessResult:
    """Materialize assets in this process (all of them without ``selection``)."""
    return dg.materialize(
        build_assets(orchestration or quick_orchestration()),
        selection=list(selection) if selection is not None else None,
        resources={"nba": resource_for(settings, **resource)},
        instance=instance,
        raise_on_error=False,
    )


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    return [
        event.step_failure_data.error.message
        for event in result.all_events
        if event.is_step_failure and event.step_failure_data.error is not None
    ]


def retries(result: dg.ExecuteInProcessResult) -> int:
    return sum(1 for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED)


def champion_of(settings: Settings) -> int | None:
    return Registry(settings).champion_version()


# --- the application database -------------------------------------------------------------
def shots_from(distance_ft: float, count: int) -> list[dict[str, Any]]:
    """Raw request fields of ``count`` jump shots straight out from the basket."""
    return [
        {
            "loc_x": 0,
            "loc_y": int(distance_ft * 10),
            "period": 1 + i % 4,
            "minutes_remaining": i % 12,
            "seconds_remaining": (7 * i) % 60,
            "action_type": "Jump Shot",
            "player_id": 2544,
            "season_type": "Regular Season",
            "game_date": "2023-03-01",
        }
        for i in range(count)
    ]


def reference_requests(settings: Settings, count: int) -> list[dict[str, Any]]:
    """Requests that look like the champion's own training shots (no drift)."""
    registry = Registry(settings)
    reference = registry.reference(registry.champion()).head(count)
    fields = [
        "loc_x",
        "loc_y",
        "period",
        "minutes_remaining",
        "seconds_remaining",
        "action_type",
        "player_id",
        "season_type",
    ]
    frame = reference.loc[:, fields]
    return [json.loads(row) for row in frame.to_json(orient="records", lines=True).splitlines()]


def store_predictions(
    settings: Settings,
    inputs: Sequence[dict[str, Any]],
    *,
    version: int | str,
    probability: float = 0.4,
    outcome: int | None = None,
) -> None:
    """Write predictions as the API stores them (migrating the database first); with an
    ``outcome``, each about a shot of its own that an ingest verified."""
    migrate.upgrade(settings)
    db = Database(settings)
    now = dt.datetime.now(dt.UTC)
    try:
        with db.session() as session:
            first = session.scalar(select(func.count()).select_from(ShotOutcome)) or 0
            for number, record in enumerate(inputs, start=first + 1):
                shot = (
                    {"game_id": 20000000 + number, "game_event_id": 1}
                    if outcome is not None
                    else {}
                )
                session.add(
                    Prediction(
                        input=dict(record) | shot,
                        probability=probability,
                        label=int(probability >= 0.5),
                        model_version=str(version),
                        latency_ms=1.0,
                        **shot,
                    )
                )
                if outcome is not None:
                    session.add(ShotOutcome(**shot, made=outcome, verified_at=now))
            session.commit()
    finally:
        db.dispose()


# --- a weak champion ---------------------------------------------------------------------------
def install_weak_champion(settings: Settings) -> int:
    """Register a constant-rate model (with the current champion's drift reference) and
    make it champion: any trained challenger beats it on the holdout."""
    registry = Registry(settings)
    reference = registry.reference(registry.champion())
    sample = pd.read_csv(bundled_sample_path(), nrows=500)
    records = [
        {"loc_x": int(x), "loc_y": int(y)}
        for x, y in zip(sample["X Location"], sample["Y Location"], strict=True)
    ]
    model = DummyClassifier(strategy="prior").fit(
        to_model_frame(records), sample["Shot Made Flag"].to_numpy()
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "reference"
        folder.mkdir()
        reference.to_parquet(Path(tmp) / REFERENCE_ARTIFACT, index=False)
        version = registry.log_version(
            model,
            run_name="weak-champion",
            metrics={"holdout_accuracy": 0.58},
            artifacts=Path(tmp),
        ).version
    registry.set_champion(version, "test: a weak champion", "manual")
    return version
