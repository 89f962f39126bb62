"""How a registered model is stored and loaded: skops' format, read against our own list of
trusted types, so that loading a model from the registry runs no code from the artifact.

Pickle (MLflow's other formats) rebuilds any object the file names, which means running any
code it names: whoever can write to the artifact store could run code in every server that
loads a champion. skops stores the object tree as data and rebuilds only types it is told
to trust. MLflow's own skops loader trusts the types the model's MLmodel file lists, that is
whatever the artifact says; here the list is ours (``TRUSTED_TYPES``), and a model holding
any other type is refused. Saving checks the same list (MLflow loads the file back with it),
so a new estimator that needs another type fails at training, not in the server.

Versions registered in pickle or cloudpickle before still load, through MLflow, with a
warning that says so: retrain to store them safely.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nba_mlops.log import get_logger

logger = get_logger(__name__)

MODEL_FORMAT = "skops"

#: Types a champion may hold beyond those skops trusts by itself (scikit-learn's public
#: estimators, numpy arrays, builtins): our feature steps, the calibration wrappers, the
#: trees of the forest and LightGBM, and what scikit-learn's spline step keeps.
TRUSTED_TYPES = sorted(
    [
        "collections.OrderedDict",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "nba_mlops.features.transformers.ShotFeatures",
        "nba_mlops.training.models.CategoryLabels",
        "numpy.dtype",
        "scipy._lib.array_api_compat.numpy._aliases.asarray",
        "scipy.interpolate._bsplines.BSpline",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.tree._tree.Tree",
    ]
)


#: What loading and scoring a model imports, recorded with every model at the versions
#: installed (the locked ones). Written down rather than inferred: MLflow's inference
#: exports the uv project or loads the model in a subprocess, which costs seconds per
#: model and warns wherever uv is not on the PATH.
MODEL_DISTRIBUTIONS = (
    "nba-mlops",
    "scikit-learn",
    "lightgbm",
    "skops",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
)


def model_requirements() -> list[str]:
    """Pinned requirements of a logged model (``pip_requirements`` of ``log_model``)."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in MODEL_DISTRIBUTIONS]


def _sklearn_flavor(folder: Path) -> dict[str, Any] | None:
    """The ``sklearn`` flavor of a downloaded MLflow model folder's ``MLmodel`` file (None
    when it has none), read as the YAML it is: MLflow's own reader imports MLflow, about 2 s
    per process."""
    import yaml

    try:
        described = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"{folder} holds no MLflow model") from exc
    flavors = described.get("flavors") if isinstance(described, dict) else None
    flavor = flavors.get("sklearn") if isinstance(flavors, dict) else None
    return flavor if isinstance(flavor, dict) else None


def load_model(model_dir: str | Path) -> Any:
    """The scikit-learn model of a downloaded MLflow model folder."""
    folder = Path(model_dir)
    flavor = _sklearn_flavor(folder)
    if flavor is None:
        raise ValueError(f"{folder} holds no scikit-learn model")
    stored_as = flavor.get("serialization_format", "pickle")
    if stored_as == MODEL_FORMAT:
        import skops.io

        return skops.io.load(folder / flavor["pickled_model"], trusted=TRUSTED_TYPES)
    import mlflow.sklearn

    logger.warning(
        "the model in %s is stored as %s: loading it runs code from the artifact; "
        "retrain (nba-mlops train) to store the champion in the %s format",
        folder,
        stored_as,
        MODEL_FORMAT,
    )
    return mlflow.sklearn.load_model(str(folder))


def stored_model_file(model_dir: str | Path) -> Path | None:
    """The file holding the model of a downloaded MLflow model folder in skops' format
    (None for another format)."""
    folder = Path(model_dir)
    flavor = _sklearn_flavor(folder)
    if flavor is None or flavor.get("serialization_format") != MODEL_FORMAT:
        return None
    return folder / str(flavor["pickled_model"])
