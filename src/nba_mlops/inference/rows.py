"""Score shots without pandas or scikit-learn's per-call machinery, from a scoring bundle.

A calibrated LightGBM champion's ``predict_proba`` on a one-row DataFrame costs tens of
milliseconds whatever the number of trees: pandas builds and checks frames, the feature
step builds categorical columns, scikit-learn validates the input at each of its
layers, and LightGBM starts its thread pool. What the model computes is a few hundred
tree walks and a calibration curve. :class:`RowScorer` computes exactly that from the
feature step's arrays (``FeatureStep.feature_matrix``): LightGBM's own predictor
(``inference.booster``, through its C library), then the model's calibration curves
averaged as ``CalibratedClassifierCV`` averages them, in NumPy. It is used only when it
gives the model's own probabilities on a set of probe shots (:data:`PROBES`, missing and
unknown fields included); any other model keeps its ``predict_proba``.

The scorer is kept as a *scoring bundle* (``RowScorer.save``): the feature step's
vocabulary, the forest's text model and the calibration curves as plain numbers. Loading
one imports neither scikit-learn, SciPy, LightGBM's Python package nor MLflow: a process
that scores with it starts seconds sooner than one that unpickles the model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from nba_mlops.data.store import file_sha256
from nba_mlops.features.transformers import FEATURE_NAMES, FeatureStep
from nba_mlops.inference.booster import NativeBooster
from nba_mlops.log import get_logger

logger = get_logger(__name__)

# The largest difference in probability tolerated between the two ways of scoring a
# shot: both compute in double precision on the same inputs; only the order of the sums
# of the calibrators' average may differ.
ROW_TOLERANCE: Final = 1e-9

# Shots the row scorer must agree on with the model before it is used: all over the
# court, every period, given and derived zones, known, unknown and oddly spelt action
# types, missing fields, both season types, with and without a shooter and a date.
PROBES: Final[tuple[dict[str, Any], ...]] = (
    {"loc_x": 0, "loc_y": 0},
    {"loc_x": 0, "loc_y": 10, "action_type": "Dunk Shot", "period": 1},
    {"loc_x": -120, "loc_y": 150, "period": 4, "minutes_remaining": 1, "seconds_remaining": 30},
    {"loc_x": 230, "loc_y": 20, "action_type": "Jump Shot", "is_home": True},
    {"loc_x": -235, "loc_y": 40, "action_type": "pullup JUMP shot", "is_home": False},
    {"loc_x": 10, "loc_y": 260, "period": 5, "minutes_remaining": 0, "seconds_remaining": 2},
    {"loc_x": 40, "loc_y": 600, "action_type": "No Such Shot", "season_type": "Playoffs"},
    {
        "loc_x": 5,
        "loc_y": 10,
        "shot_type": "2PT Field Goal",
        "shot_zone_basic": "Restricted Area",
        "shot_zone_area": "Center(C)",
        "shot_zone_range": "Less Than 8 ft.",
        "game_date": "2022-06-11",
    },
    {"loc_x": -60, "loc_y": 80, "player_id": 201939, "game_date": "2023-03-01"},
    {
        "loc_x": 100,
        "loc_y": 100,
        "action_type": "Layup Shot",
        "period": 8,
        "game_date": "1999-11-02",
    },
)


def _interpolate(x: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """SciPy's linear ``interp1d(x, y)(t)`` for ``t`` within ``[x[0], x[-1]]``, step by
    step as SciPy computes it (the same numbers to the last bit): the segment found by a
    left-sided search, its slope, the offset within it."""
    where = np.clip(np.searchsorted(x, t), 1, len(x) - 1)
    below, above = where - 1, where
    slope = (y[above] - y[below]) / (x[above] - x[below])
    result: np.ndarray = slope * (t - x[below]) + y[below]
    return result


def calibrated(calibrators: Sequence[Any], raw: np.ndarray) -> np.ndarray:
    """The calibrators' average of the forest's output (``raw``), as
    ``CalibratedClassifierCV.predict_proba`` gives it for the positive class."""
    return _average([calibrator.predict for calibrator in calibrators], raw)


def _average(curves: Sequence[Callable[[np.ndarray], np.ndarray]], raw: np.ndarray) -> np.ndarray:
    made = np.mean([curve(raw) for curve in curves], axis=0)
    return np.asarray(made, dtype="float64")


@dataclass(frozen=True)
class Curve:
    """One fitted calibration curve as data: ``sigmoid`` (``a``, ``b``) or ``isotonic``
    (thresholds ``x``, ``y`` and the clipping bounds ``low``, ``high``), applied with
    the arithmetic scikit-learn's calibrators use, without their input checks (a third
    of a one-shot request's scoring)."""

    kind: str
    params: dict[str, Any]
    apply: Callable[[np.ndarray], np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        p = self.params
        if self.kind == "sigmoid":
            a, b = np.float64(p["a"]), np.float64(p["b"])

            def sigmoid(raw: np.ndarray) -> np.ndarray:
                # scikit-learn's expit(-(a * raw + b)), SciPy's 1 / (1 + exp(-x)); within
                # two units in the last place of it: NumPy's exp is vectorised for the CPU
                # (AVX-512 on this project's AMD VM), SciPy's is the C library's
                return np.asarray(1.0 / (1.0 + np.exp(a * raw + b)), dtype="float64")

            apply: Callable[[np.ndarray], np.ndarray] = sigmoid
        elif self.kind == "isotonic":
            x = np.asarray(p["x"], dtype="float64")
            y = np.asarray(p["y"], dtype="float64")
            low, high = np.float64(p["low"]), np.float64(p["high"])
            if len(y) == 1:

                def interpolate(t: np.ndarray) -> np.ndarray:
                    return y.repeat(t.shape)

            else:

                def interpolate(t: np.ndarray) -> np.ndarray:
                    return _interpolate(x, y, t)

            def isotonic(raw: np.ndarray) -> np.ndarray:
                return np.asarray(interpolate(np.clip(raw, low, high)), dtype="float64")

            apply = isotonic
        else:
            raise ValueError(f"unknown calibration curve {self.kind!r}")
        object.__setattr__(self, "apply", apply)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Curve, (self.kind, self.params))  # the function is rebuilt, not pickled

    def predict(self, raw: np.ndarray) -> np.ndarray:
        """The calibrated probability of each raw forest output (a calibrator's API)."""
        return self.apply(np.asarray(raw, dtype="float64"))

    @classmethod
    def of(cls, calibrator: Any) -> Curve | None:
        """The curve of one of ``CalibratedClassifierCV``'s calibrators (None for any
        other kind)."""
        from sklearn.calibration import _SigmoidCalibration
        from sklearn.isotonic import IsotonicRegression

        if type(calibrator) is _SigmoidCalibration:
            return cls("sigmoid", {"a": float(calibrator.a_), "b": float(calibrator.b_)})
        if (
            type(calibrator) is IsotonicRegression
            and calibrator.out_of_bounds == "clip"
            and calibrator.X_thresholds_.dtype == np.float64
        ):
            return cls(
                "isotonic",
                {
                    "x": [float(v) for v in calibrator.X_thresholds_],
                    "y": [float(v) for v in calibrator.y_thresholds_],
                    "low": float(calibrator.X_min_),
                    "high": float(calibrator.X_max_),
                },
            )
        return None


@dataclass(frozen=True)
class RowScorer:
    """Feature step -> LightGBM's predictor -> the model's calibration curves, averaged."""

    features: FeatureStep  # the model's own feature step, or one rebuilt from a bundle
    booster: NativeBooster
    curves: tuple[Curve, ...]
    margin: bool  # whether the curves read the raw margin (else the probability)
    n_jobs: int = 1  # LightGBM's threads: one per request; a file's slices may use more

    def probabilities(self, columns: Mapping[str, np.ndarray] | pd.DataFrame) -> np.ndarray:
        """Make probabilities of ``features.serving.model_columns``' arrays (or of a model
        input frame)."""
        matrix = self.features.feature_matrix(columns)
        raw = self.booster.predict(matrix, raw_score=self.margin, num_threads=self.n_jobs)
        return _average([c.apply for c in self.curves], np.asarray(raw, dtype="float64"))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's ``predict_proba`` of a model input frame (batch scoring)."""
        made = self.probabilities(frame)
        result: np.ndarray = np.column_stack([1.0 - made, made])
        return result

    def agrees_with(self, model: Any, frame: pd.DataFrame) -> float:
        """The largest probability difference from ``model`` on ``frame``."""
        expected = model.predict_proba(frame)[:, 1]
        return float(np.max(np.abs(self.probabilities(frame) - expected), initial=0.0))

    # -- the scoring bundle: this scorer as data, loaded without the model -----------------
    def save(self, folder: Path) -> None:
        """Write the scorer into ``folder`` (created whole, or not at all)."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
        try:
            description = {
                "format": BUNDLE_FORMAT,
                "actions": list(self.features.actions_),
                "rare_action_min_count": int(self.features.rare_action_min_count),
                "features": list(FEATURE_NAMES),
                "categories": self.features.categories(),
                "margin": self.margin,
                "curves": [{"kind": c.kind, "params": c.params} for c in self.curves],
            }
            booster = self.booster.model_to_string().encode("utf-8")
            # LightGBM's library cannot be trusted with a damaged model file (its parser
            # aborts the process), so the bundle records what the file must hash to
            description["booster_sha256"] = hashlib.sha256(booster).hexdigest()
            (partial / BOOSTER_FILE).write_bytes(booster)
            (partial / "scorer.json").write_text(json.dumps(description), encoding="utf-8")
            partial.rename(folder)
        except OSError:  # another process wrote it meanwhile: theirs is as good
            shutil.rmtree(partial, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, *, n_jobs: int = 1) -> RowScorer | None:
        """The scorer ``save`` wrote into ``folder``, or None when there is none, or when it
        was written for other features than this code computes (a model trained before
        a feature was added)."""
        try:
            description = json.loads((folder / "scorer.json").read_text(encoding="utf-8"))
            if description.get("format") != BUNDLE_FORMAT:
                return None
            features = FeatureStep(int(description["rare_action_min_count"]))
            features.actions_ = [str(a) for a in description["actions"]]
            if (
                description["features"] != list(FEATURE_NAMES)
                or description["categories"] != features.categories()
            ):
                logger.info("the scoring bundle in %s is for other features: not used", folder)
                return None
            if not (folder / BOOSTER_FILE).is_file():
                raise FileNotFoundError(folder / BOOSTER_FILE)
            digest = file_sha256(folder / BOOSTER_FILE)
            if digest != description["booster_sha256"]:
                raise ValueError(f"{BOOSTER_FILE} is not the file the bundle was written with")
            booster = NativeBooster(model_file=folder / BOOSTER_FILE)
            curves = tuple(Curve(c["kind"], c["params"]) for c in description["curves"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning(
                "the scoring bundle in %s cannot be read (%s): not used, written again",
                folder,
                exc,
            )
            shutil.rmtree(folder, ignore_errors=True)
            return None
        return cls(features, booster, curves, bool(description["margin"]), n_jobs)


# Bumped whenever what ``RowScorer.save`` writes changes meaning.
BUNDLE_FORMAT: Final = 3
BOOSTER_FILE: Final = "booster.txt"


def row_scorer(model: Any, *, n_jobs: int = 1) -> RowScorer | None:
    """A :class:`RowScorer` for ``model`` when it is a calibrated LightGBM pipeline and
    gives the model's probabilities on :data:`PROBES` to ``ROW_TOLERANCE``; else None."""
    from nba_mlops.features.serving import model_columns, shot_columns
    from nba_mlops.inference.compiled import model_parts

    parts = model_parts(model)
    if parts is None:
        return None
    features, classifier, calibrators, margin = parts
    curves = tuple(Curve.of(c) for c in calibrators)
    if any(c is None for c in curves):
        return None
    booster = NativeBooster(classifier.booster_.model_to_string())
    scorer = RowScorer(features, booster, curves, margin, n_jobs)  # type: ignore[arg-type]
    columns = model_columns(shot_columns(PROBES))
    try:
        ours = scorer.probabilities(columns)
        theirs = np.asarray(model.predict_proba(pd.DataFrame(columns))[:, 1], dtype="float64")
    except Exception as exc:  # the model's own path still scores: use it
        logger.warning("the row scorer could not score the probe shots (%s): not used", exc)
        return None
    difference = float(np.max(np.abs(ours - theirs), initial=0.0))
    if not difference <= ROW_TOLERANCE:
        logger.warning(
            "the row scorer differs from the model by %.2g on the probe shots: not used",
            difference,
        )
        return None
    return scorer


def scoring_cache_dir(home: Path) -> Path:
    """Where a home keeps its champions' scoring bundles."""
    return home / "cache" / "scoring"


def cached_row_scorer(
    home: Path, model_dir: Path, load: Callable[[], Any], *, n_jobs: int = 1
) -> tuple[RowScorer | None, Any]:
    """``(scorer, model)`` of the model stored in ``model_dir``.

    The first time, ``load()`` loads the model and its scorer is saved as a bundle keyed
    by the stored model file's content. After that the bundle alone is read: no
    unpickling of the model (skops' loader imports every scikit-learn estimator to know
    what to trust, seconds per process), and ``model`` is None. Models without a row
    scorer are loaded each time."""
    from nba_mlops.registry.serialization import stored_model_file

    stored = stored_model_file(model_dir)
    folder = None
    if stored is not None:
        digest = file_sha256(stored)[:32]
        folder = scoring_cache_dir(home) / f"{digest}-{BUNDLE_FORMAT}"
        if folder.is_dir():
            found = RowScorer.load(folder, n_jobs=n_jobs)
            if found is not None:
                return found, None
    model = load()
    scorer = row_scorer(model, n_jobs=n_jobs)
    if scorer is not None and folder is not None:
        scorer.save(folder)
    return scorer, model
