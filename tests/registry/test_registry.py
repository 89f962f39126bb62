"""``Registry``: the champion look-up, a logged version's artifacts, loading it back, the
alias's moves, and that using one leaves the rest of the process as it was."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.models import Model
from sklearn.linear_model import LogisticRegression

from nba_mlops.config import Settings
from nba_mlops.registry import (
    PLAYERS_ARTIFACT,
    QUALITY_ARTIFACT,
    REFERENCE_ARTIFACT,
    NoChampionError,
    Registry,
    RegistryLookupError,
)

PLAYERS = [{"player_id": 2544, "player_name": "LeBron James", "team_name": "LAL", "shots": 3}]


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(variable, raising=False)
    return Registry(Settings(home=tmp_path / "home"))


def _model() -> tuple[Any, pd.DataFrame]:
    frame = pd.DataFrame({"loc_x": [0, 10, -50, 200, 5, 120], "loc_y": [5, 20, 90, 250, 0, 60]})
    model = LogisticRegression().fit(frame, np.array([1, 1, 0, 0, 1, 0]))
    return model, frame


def _artifacts(folder: Path, reference: pd.DataFrame) -> Path:
    (folder / REFERENCE_ARTIFACT).parent.mkdir(parents=True)
    reference.to_parquet(folder / REFERENCE_ARTIFACT, index=False)
    (folder / PLAYERS_ARTIFACT).write_text(json.dumps(PLAYERS), encoding="utf-8")
    return folder


def test_there_is_no_champion_before_the_first_promotion(registry: Registry) -> None:
    with pytest.raises(NoChampionError, match="no champion for model"):
        registry.champion()
    assert registry.champion_version() is None
    with pytest.raises(NoChampionError):
        registry.load_model()
    assert registry.list_versions() == []
    assert registry.champion_history() == []
    with pytest.raises(ValueError, match="no earlier champion"):
        registry.rollback()


def test_a_logged_version_is_champion_with_its_run_and_artifacts(
    registry: Registry, tmp_path: Path
) -> None:
    model, frame = _model()
    artifacts = _artifacts(tmp_path / "artifacts", frame)
    with registry.training_run("training-test", {"data_version": "abc"}) as parent:
        logged = registry.log_version(
            model,
            run_name="logistic",
            parent=parent,
            tags={"family": "logistic"},
            params={"param_C": 1.0},
            metrics={"holdout_log_loss": 0.6, "holdout_accuracy": 0.7, "lost": float("nan")},
            artifacts=artifacts,
            documents={QUALITY_ARTIFACT: {"overall": {"shots": 6}}},
            input_example=frame.head(3),
            optional_inputs={"loc_y"},
            version_tags={"family": "logistic"},
        )
    assert logged.version == 1
    assert registry.set_champion(1, "the first", "promoted") is None

    champion = registry.champion()
    assert (champion.version, champion.run_id, champion.family) == (1, logged.run_id, "logistic")
    assert champion.decision == "promoted" and champion.reason == "the first"
    assert champion.promoted_at is not None and champion.created_at is not None
    run = registry.run(logged.run_id)
    assert run.metrics == {"holdout_log_loss": 0.6, "holdout_accuracy": 0.7}  # finite only
    assert run.params == {"param_C": "1.0"}
    assert run.tags["family"] == "logistic" and run.tags["mlflow.parentRunId"] == parent
    pd.testing.assert_frame_equal(registry.reference(champion), frame)
    assert registry.players(logged.run_id) == PLAYERS
    assert registry.quality(1) == {"overall": {"shots": 6}}

    loaded, version = registry.load_model()
    assert version == 1
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame))
    folder, _ = registry.download_model(1)
    signature = Model.load(folder).signature
    assert signature is not None
    required = {spec.name: spec.required for spec in signature.inputs.inputs}
    assert required == {"loc_x": True, "loc_y": False}
    (listed,) = registry.list_versions()
    assert listed.is_champion and listed.metrics["holdout_log_loss"] == 0.6
    entries = (registry.settings.home / "promotions.jsonl").read_text().splitlines()
    assert json.loads(entries[-1])["decision"] == "promoted"


def test_the_alias_moves_by_hand_and_back(registry: Registry) -> None:
    model, _ = _model()
    first = registry.log_version(model, run_name="one").version
    second = registry.log_version(model, run_name="two").version
    registry.set_champion(first, "first", "promoted")
    assert registry.set_champion(second, "by hand", "manual") == first
    assert registry.champion_history() == [first, second]
    assert registry.rollback("it was worse") == first
    assert registry.champion().version == first
    assert registry.champion().decision == "rollback"
    assert registry.champion_history() == [first]
    with pytest.raises(RegistryLookupError, match="no version 99"):
        registry.set_champion(99, "no such version", "manual")
    assert registry.champion_version() == first
    for unknown in (99, "old", ""):
        with pytest.raises(RegistryLookupError):
            registry.version(unknown)


def test_a_version_without_artifacts_says_so(registry: Registry) -> None:
    model, _ = _model()
    logged = registry.log_version(model, run_name="bare")
    bare = registry.version(logged.version)
    with pytest.raises(RegistryLookupError, match="has no reference"):
        registry.reference(bare)
    assert registry.players(logged.run_id) == []
    assert registry.quality(logged.version) is None
    registry.save_quality(logged.version, {"overall": {"shots": 1}})
    assert registry.quality(logged.version) == {"overall": {"shots": 1}}


def test_using_a_registry_leaves_the_process_pointed_where_it_was(
    registry: Registry, tmp_path: Path
) -> None:
    before = mlflow.get_tracking_uri()
    model, _ = _model()
    registry.log_version(model, run_name="leaves-no-trace")
    registry.set_champion(1, "first", "promoted")
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert "MLFLOW_REGISTRY_URI" not in os.environ
    assert mlflow.get_tracking_uri() == before
    other = Settings(home=tmp_path / "other")
    assert other.tracking_uri != registry.tracking_uri
    assert Registry(other).champion_version() is None
