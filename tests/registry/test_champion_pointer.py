"""The champion pointer: the champion's model folder is found without MLflow while the
store is as it was when the alias was read, and through MLflow again after any write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from nba_mlops.config import Settings
from nba_mlops.registry import Registry


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(variable, raising=False)
    return Registry(Settings(home=tmp_path / "home"))


def _two_versions(registry: Registry) -> tuple[int, int]:
    frame = pd.DataFrame({"loc_x": [0, 10, -50, 200], "loc_y": [5, 20, 90, 250]})
    model = LogisticRegression().fit(frame, np.array([1, 1, 0, 0]))
    first = registry.log_version(model, run_name="one").version
    second = registry.log_version(model, run_name="two").version
    return first, second


def _fresh_process(home: Path, expression: str) -> tuple[list[str], bool]:
    """What a new process prints of ``expression`` (the registry of ``home`` is
    ``registry``), line by line, and whether it imported MLflow."""
    probe = (
        "import json, sys; from pathlib import Path; from nba_mlops.config import Settings; "
        "from nba_mlops.registry import Registry; "
        f"registry = Registry(Settings(home=Path({str(home)!r}))); "
        f"print({expression}); print('mlflow' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    *printed, imported = done.stdout.strip().splitlines()
    return printed, imported == "True"


def _in_a_fresh_process(home: Path) -> tuple[int, str, bool]:
    """The champion's version and folder as ``download_model`` finds them in a new
    process, and whether that process imported MLflow."""
    (found,), imported = _fresh_process(home, "*registry.download_model()[::-1]")
    version, folder = found.split()
    return int(version), folder, imported


def test_after_a_promotion_the_champion_is_found_without_mlflow(registry: Registry) -> None:
    first, _ = _two_versions(registry)
    registry.set_champion(first, "the first", "promoted")
    folder, _ = registry.download_model(first)
    assert registry.pointed_champion() == (folder, first)
    assert _in_a_fresh_process(registry.settings.home) == (first, str(folder), False)


def test_any_write_to_the_store_sends_the_look_up_back_to_mlflow(registry: Registry) -> None:
    first, second = _two_versions(registry)
    registry.set_champion(first, "the first", "promoted")
    # another program moves the alias through MLflow itself: the pointer cannot know
    client = mlflow.MlflowClient(registry.tracking_uri, registry.tracking_uri)
    client.set_registered_model_alias(registry.name, "champion", str(second))
    assert registry.pointed_champion() is None
    folder, version = registry.download_model()
    assert (folder, version) == (registry.download_model(second)[0], second)
    assert registry.pointed_champion() == (folder, second)  # asked MLflow, wrote it again
    assert _in_a_fresh_process(registry.settings.home) == (second, str(folder), False)
    # a write that does not move the alias makes it stale too; MLflow says the same
    client.set_model_version_tag(registry.name, str(first), "note", "unrelated")
    assert registry.pointed_champion() is None
    assert registry.download_model() == (folder, second)


def test_a_rollback_moves_the_pointer_with_the_alias(registry: Registry) -> None:
    first, second = _two_versions(registry)
    registry.set_champion(first, "the first", "promoted")
    registry.set_champion(second, "better", "promoted")
    assert registry.pointed_champion() == (registry.download_model(second)[0], second)
    assert registry.rollback("worse live") == first
    assert registry.pointed_champion() == (registry.download_model(first)[0], first)


def _pointer(registry: Registry) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(registry.pointer_path.read_text(encoding="utf-8"))
    return loaded


def test_a_pointer_that_does_not_fit_is_not_believed(registry: Registry, tmp_path: Path) -> None:
    first, _ = _two_versions(registry)
    registry.set_champion(first, "the first", "promoted")
    good = _pointer(registry)
    folder = Path(good["model_dir"])
    for field, value in (
        ("model", "another-model"),
        ("tracking_uri", "sqlite:///elsewhere.db"),
        ("format", 0),
        ("model_dir", str(tmp_path / "gone")),
        ("store", None),
    ):
        registry.pointer_path.write_text(json.dumps({**good, field: value}), encoding="utf-8")
        assert registry.pointed_champion() is None, field
        assert registry.download_model() == (folder, first), field
        assert registry.pointed_champion() == (folder, first), field
    for garbage in ("", "{", "[]", '{"format": 1}'):
        registry.pointer_path.write_text(garbage, encoding="utf-8")
        assert registry.pointed_champion() is None
        assert registry.download_model() == (folder, first)


def test_no_pointer_for_a_store_that_is_not_a_local_database(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    settings.mlflow_tracking_uri = (tmp_path / "runs").as_uri()  # MLflow's file store
    registry = Registry(settings)
    assert registry._store_state() is None
    assert registry.pointed_champion() is None
    assert not registry.pointer_path.exists()


def _card_in_a_fresh_process(home: Path, version: int) -> tuple[dict[str, Any], bool]:
    """``serving_card(version)`` as a new process reads it, and whether it imported MLflow."""
    (card,), imported = _fresh_process(
        home, f"json.dumps(registry.serving_card({version}).to_json())"
    )
    return json.loads(card), imported


def test_the_champions_serving_card_is_read_without_mlflow_until_the_store_changes(
    registry: Registry,
) -> None:
    first, second = _two_versions(registry)
    registry.set_champion(first, "the first", "promoted")
    run_id = registry.version(first).run_id
    assert run_id is not None
    registry._mlflow.log_metric(run_id, "holdout_log_loss", 0.625)
    card = registry.serving_card(first)  # through MLflow: kept beside the pointer
    assert card.version.version == first and card.metrics == {"holdout_log_loss": 0.625}
    assert card.version.promoted_at is not None
    home = registry.settings.home
    assert _card_in_a_fresh_process(home, first) == (card.to_json(), False)
    # another version is no champion: read through MLflow, never kept
    other, imported = _card_in_a_fresh_process(home, second)
    assert (other["version"], other["metrics"], imported) == (second, {}, True)
    # a write to the store (a metric logged again) makes the kept card stale
    registry._mlflow.log_metric(run_id, "holdout_log_loss", 0.6)
    again, imported = _card_in_a_fresh_process(home, first)
    assert (again["metrics"], imported) == ({"holdout_log_loss": 0.6}, True)
    assert _card_in_a_fresh_process(home, first) == (again, False)  # kept again
    # a card that does not fit is not believed
    kept = json.loads(registry.card_path.read_text(encoding="utf-8"))
    assert registry._kept_card(first) is not None
    for garbage in ("", "{", "[]", json.dumps({**kept, "version": second, "metrics": {}})):
        registry.card_path.write_text(garbage, encoding="utf-8")
        assert registry.serving_card(first).metrics == {"holdout_log_loss": 0.6}


def test_the_champions_quality_comes_with_its_card_without_mlflow(registry: Registry) -> None:
    # /models/current shows it: asked of MLflow, a serving worker would import MLflow's
    # tracking store (a second, 60 MB) on the page's first request
    first, second = _two_versions(registry)
    quality = {"by_zone": [{"zone": "Restricted Area", "log_loss": 0.61}]}
    registry.save_quality(first, quality)
    registry.set_champion(first, "the first", "promoted")
    assert registry.serving_card(first).quality == quality  # through MLflow: kept
    home = registry.settings.home
    (found,), imported = _fresh_process(home, f"json.dumps(registry.quality({first}))")
    assert (json.loads(found), imported) == (quality, False)
    # no quality kept for the champion (trained before quality was kept): MLflow is asked
    registry.set_champion(second, "the second", "promoted")
    registry.serving_card(second)
    (found,), imported = _fresh_process(home, f"json.dumps(registry.quality({second}))")
    assert (json.loads(found), imported) == (None, True)
    # another version than the champion: MLflow is asked, and has it
    (found,), imported = _fresh_process(home, f"json.dumps(registry.quality({first}))")
    assert (json.loads(found), imported) == (quality, True)
