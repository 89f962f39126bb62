"""Seeded hyper-parameter search (Optuna TPE) on a sample of the training rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import log_loss

from nba_mlops.log import get_logger
from nba_mlops.training.models import Family, Params

logger = get_logger(__name__)


@dataclass(frozen=True)
class TuningResult:
    params: Params
    validation_log_loss: float
    trials: int


def _sample(
    x: pd.DataFrame, y: np.ndarray, rows: int, seed: int
) -> tuple[pd.DataFrame, np.ndarray]:
    if rows <= 0 or len(x) <= rows:
        return x, y
    index = np.sort(np.random.default_rng(seed).choice(len(x), size=rows, replace=False))
    return x.iloc[index], y[index]


def tune(
    family: Family,
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    x_val: pd.DataFrame,
    y_val: np.ndarray,
    *,
    trials: int,
    rows: int,
    seed: int,
) -> TuningResult:
    """Search ``family``'s space for the lowest validation log loss.

    The first trial is always the family's defaults, so a search of one trial is a
    plain fit and a longer search can only improve on it.
    """
    xs, ys = _sample(x_train, y_train, rows, seed)
    xv, yv = _sample(x_val, y_val, max(rows // 2, 0), seed + 1)

    def objective(trial: optuna.Trial) -> float:
        params = family.suggest(trial)
        model = family.fit(params, xs, ys, xv, yv, seed)
        loss = float(log_loss(yv, model.predict_proba(xv)[:, 1], labels=[0, 1]))
        best_iteration = getattr(model, "best_iteration_", None)
        if best_iteration:
            trial.set_user_attr("n_estimators", int(best_iteration))
        return loss

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(family.defaults)
    study.optimize(objective, n_trials=max(trials, 1))
    best = dict(study.best_params)
    logger.info(
        "%s: best validation log loss %.4f after %d trials: %s",
        family.name,
        study.best_value,
        len(study.trials),
        best,
    )
    return TuningResult(best, float(study.best_value), len(study.trials))
