"""The whole asset graph in-process on the bundled sample, from an empty data directory:
new data, ingest, training set, candidates, promotion, batch predictions, report."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from typer.testing import CliRunner

from nba_mlops.cli import app
from nba_mlops.config import Settings, get_settings
from nba_mlops.data.store import ShotStore
from tests.support.orchestration import champion_of, materialize, quick_training

pytestmark = pytest.mark.slow

STAGES = [
    "incoming_batch",
    "shot_store",
    "training_set",
    "candidate_model",
    "promotion_decision",
    "batch_predictions",
    "monitoring_report",
]


def test_every_stage_materializes_from_an_empty_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance
) -> None:
    quick_training(monkeypatch)
    # Deliver every dated day of the sample at once: a store with several seasons.
    monkeypatch.setenv("NBA_MLOPS_SIMULATION_DAYS", "100000")
    settings = Settings(home=tmp_path / "home")

    result = materialize(settings, instance=instance)

    assert result.success
    materialized = [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()]
    assert materialized == STAGES
    metadata = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    delivered = Path(metadata["incoming_batch"]["path"].value)
    assert not delivered.exists()  # ingested, then moved aside
    assert (settings.incoming_dir / "processed" / delivered.name).is_file()
    store_version = ShotStore(settings).data_version()
    assert store_version.rows == metadata["incoming_batch"]["rows"].value
    assert metadata["training_set"]["data_version"].value == store_version.hash
    assert "holdout" in metadata["training_set"]["split"].value

    champion = champion_of(settings)
    assert champion is not None
    assert metadata["promotion_decision"]["promoted"].value is True
    assert metadata["promotion_decision"]["champion_version"].value == champion

    scored = pd.read_csv(metadata["batch_predictions"]["path"].value)
    assert len(scored) == store_version.rows
    assert (scored["model_version"] == champion).all()
    assert scored["make_probability"].between(0, 1).all()

    report = Path(metadata["monitoring_report"]["path"].value)
    assert report.parent == settings.reports_dir and report.name.startswith("monitoring-")
    assert f"v{champion}" in report.read_text(encoding="utf-8")

    # The same home through the CLI: one job on the local instance, outcome as JSON.
    monkeypatch.setenv("NBA_MLOPS_HOME", str(settings.home))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))  # the command sets it: restore after
    get_settings.cache_clear()
    out = settings.home / "outcome.json"
    try:
        cli = CliRunner().invoke(
            app, ["orchestrate", "run", "monitoring", "--result-json", str(out)]
        )
    finally:
        get_settings.cache_clear()
    assert cli.exit_code == 0, cli.output
    assert "monitoring_job succeeded" in cli.output
    outcome = json.loads(out.read_text())
    assert outcome["success"] and list(outcome["assets"]) == ["monitoring_report"]
    assert (settings.home / "dagster" / "dagster.yaml").is_file()
