"""The fitting steps of a training run: one family searched, fitted, calibrated and judged
on the holdout (:func:`fit_family`); the chosen one fitted again on training and
validation (:func:`refit`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from nba_mlops.config import TrainingSettings
from nba_mlops.log import get_logger
from nba_mlops.training.calibration import choose_calibration
from nba_mlops.training.evaluate import classification_metrics
from nba_mlops.training.models import FAMILIES, Family
from nba_mlops.training.prepare import Holdout, TrainingData
from nba_mlops.training.tune import tune

logger = get_logger(__name__)
Progress = Callable[[str], None]


@dataclass
class Candidate:
    family: str
    params: dict[str, Any]
    validation_log_loss: float
    holdout: dict[str, float]
    holdout_without_game: dict[str, float]
    holdout_without_context: dict[str, float]
    model: Any = field(repr=False)
    run_id: str = ""
    version: int = 0
    fit_seconds: float = 0.0


def holdout_metrics(
    model: Any, holdout: Holdout
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Holdout metrics of ``model``: with context, without the game, without context."""
    given, without_game, without_context = (
        classification_metrics(holdout.y, model.predict_proba(inputs)[:, 1])
        for inputs in (holdout.given, holdout.without_game, holdout.without_context)
    )
    return given, without_game, without_context


def fit_family(
    family: Family, data: TrainingData, cfg: TrainingSettings, progress: Progress
) -> Candidate:
    """Search ``family``'s parameters (as many trials as it earns), fit it with the best
    on the training rows (at most its final row cap), calibrate it on validation and
    measure it on the holdout."""
    name = family.name
    trials = family.trials(cfg)
    started = time.perf_counter()
    progress(f"{name}: tuning ({trials} trials)" if trials > 1 else f"{name}: fitting")

    def trial_done(number: int, total: int, loss: float, best: float) -> None:
        progress(f"{name}: trial {number}/{total} done, best validation log loss {best:.4f}")

    validation = data.validation
    tuned = tune(
        family,
        data.train.x,
        data.train.y,
        validation.x,
        validation.y,
        trials=trials,
        rows=cfg.tuning_rows,
        seed=cfg.seed,
        on_trial=trial_done,
    )
    progress(f"{name}: final fit")
    rows = data.train.capped(family.final_row_cap, cfg.seed)
    # Halving the learning rate for the final fit was measured (2026-11-26): same holdout
    # log loss to four decimals for twice the trees, so the searched step is kept.
    final_params = dict(tuned.params)
    estimator = family.fit(final_params, rows.x, rows.y, validation.x, validation.y, cfg.seed)
    del rows
    val_loss = classification_metrics(validation.y, estimator.predict_proba(validation.x)[:, 1])[
        "log_loss"
    ]
    pipeline = Pipeline([("features", data.features), ("model", estimator)])
    progress(f"{name}: calibrating")
    method = choose_calibration(pipeline, data.validation_input, validation.y, cfg.seed)
    calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method=method)
    calibrated.fit(data.validation_input, validation.y)
    holdout, without_game, without = holdout_metrics(calibrated, data.holdout)
    params = dict(final_params) | family.settled(estimator)
    params["calibration"] = method
    logger.info(
        "%s: validation log loss %.4f, holdout log loss %.4f (without the game %.4f, "
        "without context %.4f)",
        name,
        val_loss,
        holdout["log_loss"],
        without_game["log_loss"],
        without["log_loss"],
    )
    return Candidate(
        family=name,
        params=params,
        validation_log_loss=val_loss,
        holdout=holdout,
        holdout_without_game=without_game,
        holdout_without_context=without,
        model=calibrated,
        fit_seconds=time.perf_counter() - started,
    )


def refit(candidate: Candidate, data: TrainingData, seed: int, progress: Progress) -> None:
    """Fit ``candidate``'s family again on the refit rows (training and validation),
    with its settled parameters, and keep its calibration: the calibrator learnt on
    validation now maps the refitted model's scores. The holdout stays unseen, so its
    metrics are measured again, on the model that will be served. ``candidate`` is
    updated in place (model, holdout metrics, parameters, fitting time)."""
    if data.refit is None:
        raise ValueError("no refit rows: the settings ask for no refit")
    started = time.perf_counter()
    name = candidate.family
    family = FAMILIES[name]
    progress(f"{name}: refitting on training and validation ({len(data.refit.y):,} rows)")
    params = {k: v for k, v in candidate.params.items() if k != "calibration"}
    rows = data.refit.capped(family.final_row_cap, seed)
    estimator = family.fit(params, rows.x, rows.y, None, None, seed)
    pipeline = Pipeline([("features", data.features), ("model", estimator)])
    calibrated = candidate.model
    frozen = FrozenEstimator(pipeline)
    calibrated.estimator = frozen
    for fitted in calibrated.calibrated_classifiers_:
        fitted.estimator = frozen
    before = candidate.holdout["log_loss"]
    (
        candidate.holdout,
        candidate.holdout_without_game,
        candidate.holdout_without_context,
    ) = holdout_metrics(calibrated, data.holdout)
    candidate.params["fitted_on"] = "training+validation"
    candidate.fit_seconds += time.perf_counter() - started
    logger.info(
        "%s: refitted on %s rows of training and validation in %.0f s: holdout log loss "
        "%.4f (fitted on training alone %.4f)",
        name,
        f"{len(rows.y):,}",
        time.perf_counter() - started,
        candidate.holdout["log_loss"],
        before,
    )
