"""The whole pipeline on the bundled sample with a temporary MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models import Model
from typer.testing import CliRunner

from nba_mlops.cli import app
from nba_mlops.config import Settings, bundled_sample_path
from nba_mlops.data.store import ShotStore
from nba_mlops.pipeline import run_ingest, run_training
from nba_mlops.registry import Registry

pytestmark = pytest.mark.slow


def test_pipeline_registers_promotes_and_scores(trained_settings: Settings) -> None:
    settings = trained_settings
    registry = Registry(settings)
    versions = registry.list_versions()
    assert len(versions) == len(settings.training.families)
    champion = [v for v in versions if v.is_champion]
    assert len(champion) == 1
    assert champion[0].decision == "promoted"
    assert "first champion" in champion[0].reason
    rejected = [v for v in versions if not v.is_champion]
    assert all(v.decision == "rejected" and v.reason for v in rejected)
    metrics = champion[0].metrics
    assert metrics["holdout_log_loss"] < metrics["baseline_constant_log_loss"]
    run = registry.run(champion[0].run_id or "")
    assert run.tags["data_version"] == ShotStore(settings).data_version().hash
    assert run.tags["code_version"]
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    artifacts = {a.path for a in client.list_artifacts(champion[0].run_id or "")}
    assert {"players.json", "reference"} <= artifacts
    signature = Model.load(registry.download_model(champion[0].version)[0]).signature
    assert signature is not None
    assert "loc_x" in signature.inputs.input_names()

    predictions = list(settings.predictions_dir.glob("predictions-*.csv"))
    assert len(predictions) == 1
    scored = pd.read_csv(predictions[0])
    assert {"make_probability", "prediction", "model_version"} <= set(scored.columns)
    assert scored["make_probability"].between(0, 1).all()
    assert (scored["model_version"] == champion[0].version).all()
    log = [
        json.loads(line) for line in (settings.home / "promotions.jsonl").read_text().splitlines()
    ]
    assert {entry["decision"] for entry in log} == {"promoted", "rejected"}
    assert (settings.log_dir / "nba-mlops.log").read_text().count("finished in") >= 3


def test_reingesting_the_sample_changes_nothing(trained_settings: Settings) -> None:
    store = ShotStore(trained_settings)
    before = store.data_version()
    reports = run_ingest(trained_settings, [bundled_sample_path()]).reports
    assert reports[0].rows_new == 0
    after = store.data_version()
    assert after.hash == before.hash
    assert after.rows == before.rows


def test_a_retrain_without_new_data_keeps_the_champion(fresh_trained_settings: Settings) -> None:
    settings = fresh_trained_settings
    settings.training.families = ["logistic"]
    settings.training.promotion_margin = 0.05  # no retrain on the same data gains that much
    registry = Registry(settings)
    champion = registry.champion_version()
    report = run_training(settings)
    assert not report.decision.promote
    assert "below the margin" in report.decision.reason
    assert registry.champion_version() == champion
    newest = registry.list_versions()[0]
    assert newest.decision == "rejected"
    assert newest.tags["evidence.champion_holdout_log_loss"] != "None"


def test_models_promote_and_rollback_by_hand(
    fresh_trained_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh_trained_settings
    monkeypatch.setenv("NBA_MLOPS_HOME", str(settings.home))
    from nba_mlops.config import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    registry = Registry(settings)
    champion = registry.champion_version()
    other = next(v.version for v in registry.list_versions() if not v.is_champion)
    result = runner.invoke(app, ["models", "promote", str(other), "--reason", "test"])
    assert result.exit_code == 0, result.output
    assert registry.champion_version() == other
    result = runner.invoke(app, ["models", "rollback"])
    assert result.exit_code == 0, result.output
    assert registry.champion_version() == champion
    result = runner.invoke(app, ["models", "promote", "999"])
    assert result.exit_code == 1
    assert "no version 999" in result.output
    listing = runner.invoke(app, ["models", "list"])
    assert "champion" in listing.output
    get_settings.cache_clear()


def test_predict_batch_reports_rows_it_cannot_score(
    trained_settings: Settings, tmp_path: Path
) -> None:
    from nba_mlops.inference.batch import predict_batch

    raw = pd.read_csv(bundled_sample_path(), nrows=50)
    raw.loc[3, "Period"] = 42
    raw.loc[7, "X Location"] = 9999
    source = tmp_path / "shots.csv"
    raw.to_csv(source, index=False)
    report = predict_batch(trained_settings, source, tmp_path / "out.csv")
    assert report.rows_read == 50
    assert report.rows_scored == 48
    assert report.rows_rejected == 2
    assert report.rejected_output is not None
    rejected = pd.read_csv(report.rejected_output)
    assert len(rejected) == 2
    scored = pd.read_csv(tmp_path / "out.csv")
    assert list(scored.columns[: len(raw.columns)]) == list(raw.columns)


def test_evaluate_prints_the_champion_beside_both_baselines(
    fresh_trained_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nba_mlops.config import get_settings

    monkeypatch.setenv("NBA_MLOPS_HOME", str(fresh_trained_settings.home))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["evaluate"], terminal_width=200)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    for row in ("without context", "constant make rate", "logistic on distance"):
        assert row in result.output
    assert "holdout: season 2022-23" in result.output


def test_training_on_an_empty_store_says_what_to_do(tmp_path: Path) -> None:
    from nba_mlops.pipeline import run_training

    with pytest.raises(LookupError, match="nba-mlops ingest"):
        run_training(Settings(home=tmp_path / "empty"))


@pytest.mark.parametrize("command", [["train"], ["pipeline", "--sample"]])
def test_a_hand_run_training_is_refused_while_another_holds_the_lock(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    command: list[str],
) -> None:
    from nba_mlops.config import get_settings
    from nba_mlops.training.lock import training_lock

    home = tmp_path / "home"
    monkeypatch.setenv("NBA_MLOPS_HOME", str(home))
    get_settings.cache_clear()  # the command line reads this home, not an earlier one
    request.addfinalizer(get_settings.cache_clear)
    run_ingest(Settings(home=home), [bundled_sample_path()])
    with training_lock(Settings(home=home), owner="dagster run scheduled"):
        result = CliRunner().invoke(app, command)
    assert result.exit_code == 1, result.output
    assert "another training run is in progress (pid" in result.output
    assert "dagster run scheduled" in result.output
    assert Registry(Settings(home=home)).champion_version() is None  # nothing trained
