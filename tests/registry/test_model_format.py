"""Registered models are stored in skops' format and loaded against the project's own list
of trusted types: a model that names any other type is refused, whatever its MLmodel file
claims; versions stored as cloudpickle before still load, with a warning that says so."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import mlflow
import mlflow.artifacts
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
import skops.io
from mlflow.models import Model
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from skops.io.exceptions import UntrustedTypesFoundException

from nba_mlops.config import Settings
from nba_mlops.registry import Registry
from nba_mlops.registry.serialization import MODEL_FORMAT, TRUSTED_TYPES, load_model

pytestmark = pytest.mark.slow


def _versions(settings: Settings) -> dict[str, Path]:
    """Each family's registered version, downloaded: {family: model folder}."""
    registry = Registry(settings)
    return {v.family: registry.download_model(v.version)[0] for v in registry.list_versions()}


@pytest.fixture(scope="module")
def folders(trained_settings: Settings) -> dict[str, Path]:
    return _versions(trained_settings)


@pytest.fixture(scope="module")
def example(folders: dict[str, Path]) -> pd.DataFrame:
    folder = next(iter(folders.values()))
    frame = Model.load(folder).load_input_example(str(folder))
    assert isinstance(frame, pd.DataFrame)
    return frame


def test_every_family_is_stored_as_skops_and_loads_as_it_was_fitted(
    folders: dict[str, Path], example: pd.DataFrame
) -> None:
    assert set(folders) == {"logistic", "random_forest", "lightgbm"}
    for family, folder in folders.items():
        flavor = Model.load(folder).flavors["sklearn"]
        assert flavor["serialization_format"] == MODEL_FORMAT, family
        # Its environment is written down, pinned, not inferred.
        requirements = (folder / "requirements.txt").read_text(encoding="utf-8").splitlines()
        assert {"skops", "scikit-learn", "lightgbm", "nba-mlops"} <= {
            line.split("==")[0] for line in requirements if "==" in line
        }
        ours = load_model(folder)
        # MLflow's loader, trusting what the MLmodel file lists, rebuilds the same model.
        theirs = mlflow.sklearn.load_model(str(folder))
        np.testing.assert_allclose(
            ours.predict_proba(example)[:, 1], theirs.predict_proba(example)[:, 1], rtol=1e-12
        )
        probability = ours.predict_proba(example)[:, 1]
        assert ((probability > 0) & (probability < 1)).all()


def test_isotonic_calibration_needs_no_other_trusted_type(
    folders: dict[str, Path], example: pd.DataFrame
) -> None:
    """The full data calibrates some candidates with isotonic regression; the sample never
    does (too few validation rows), so it is fitted here on the sample's own pipelines."""
    rng = np.random.default_rng(0)
    rows = pd.concat([example] * 200, ignore_index=True)
    rows["loc_x"] = rng.integers(-250, 250, len(rows))
    rows["loc_y"] = rng.integers(0, 300, len(rows))
    made = rng.integers(0, 2, len(rows))
    for family, folder in folders.items():
        fitted = load_model(folder).calibrated_classifiers_[0].estimator
        isotonic = CalibratedClassifierCV(fitted, method="isotonic").fit(rows, made)
        untrusted = set(skops.io.get_untrusted_types(data=skops.io.dumps(isotonic)))
        assert untrusted <= set(TRUSTED_TYPES), (family, untrusted - set(TRUSTED_TYPES))


class Payload:
    """A type no model of ours holds: stands for code an attacker would want to run."""

    def __init__(self) -> None:
        self.ran = False


def _crafted_model(folder: Path) -> Path:
    """An MLflow model whose MLmodel file vouches for a type outside our list."""
    model = LogisticRegression().fit(np.array([[0.0], [1.0]]), np.array([0, 1]))
    model.payload = Payload()  # type: ignore[attr-defined]
    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    assert any(name.endswith("Payload") for name in untrusted)
    mlflow.sklearn.save_model(
        model,
        str(folder),
        serialization_format=MODEL_FORMAT,
        skops_trusted_types=untrusted,
        pip_requirements=["scikit-learn"],
    )
    return folder


def test_a_model_naming_a_type_outside_our_list_is_refused(tmp_path: Path) -> None:
    folder = _crafted_model(tmp_path / "crafted")
    # MLflow's own loader believes the artifact's list ...
    assert isinstance(mlflow.sklearn.load_model(str(folder)).payload, Payload)
    # ... ours does not.
    with pytest.raises(UntrustedTypesFoundException, match="Payload"):
        load_model(folder)


def test_a_cloudpickle_version_still_loads_and_says_it_runs_code(tmp_path: Path) -> None:
    model = LogisticRegression().fit(np.array([[0.0], [1.0]]), np.array([0, 1]))
    folder = tmp_path / "old"
    mlflow.sklearn.save_model(
        model, str(folder), serialization_format="cloudpickle", pip_requirements=["scikit-learn"]
    )
    warnings: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = warnings.append  # type: ignore[method-assign]
    logger = logging.getLogger("nba_mlops")
    logger.addHandler(handler)
    try:
        loaded: Any = load_model(folder)
    finally:
        logger.removeHandler(handler)
    assert loaded.predict_proba(np.array([[1.0]]))[0, 1] == pytest.approx(
        model.predict_proba(np.array([[1.0]]))[0, 1]
    )
    assert any("stored as cloudpickle" in r.getMessage() for r in warnings)
