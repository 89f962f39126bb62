"""Seeded hyper-parameter search (Optuna TPE) on a sample of the training rows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import log_loss

from nba_mlops.log import get_logger
from nba_mlops.training.models import Family, Params

logger = get_logger(__name__)
#: Told after each trial: (trial number from 1, trials in all, its validation log loss,
#: the best so far).
TrialDone = Callable[[int, int, float, float], None]


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
    on_trial: TrialDone | None = None,
) -> TuningResult:
    """Search ``family``'s space for the lowest validation log loss.

    The first trial is always the family's defaults, so a longer search can only improve
    on them; with one trial there is nothing to compare, so nothing is fitted here and the
    defaults are the result (the caller fits the final model with them anyway).
    """
    if trials <= 1:
        logger.info("%s: no search, the family's defaults: %s", family.name, family.defaults)
        return TuningResult(dict(family.defaults), float("nan"), 0)
    xs, ys = _sample(x_train, y_train, rows, seed)
    xv, yv = _sample(x_val, y_val, max(rows // 2, 0), seed + 1)

    def objective(trial: optuna.Trial) -> float:
        params = family.suggest(trial)
        model = family.fit(params, xs, ys, xv, yv, seed)
        loss = float(log_loss(yv, model.predict_proba(xv)[:, 1], labels=[0, 1]))
        for key, value in family.settled(model).items():
            trial.set_user_attr(key, value)
        return loss

    started = time.perf_counter()

    def trial_done(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        number = trial.number + 1
        loss = float("nan") if trial.value is None else float(trial.value)
        logger.info(
            "%s: trial %d/%d, validation log loss %.4f (best %.4f, %.0f s so far)",
            family.name,
            number,
            trials,
            loss,
            study.best_value,
            time.perf_counter() - started,
        )
        if on_trial is not None:
            on_trial(number, trials, loss, float(study.best_value))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(family.defaults)
    study.optimize(objective, n_trials=trials, callbacks=[trial_done])
    best = dict(study.best_params)
    logger.info(
        "%s: best validation log loss %.4f after %d trials: %s",
        family.name,
        study.best_value,
        len(study.trials),
        best,
    )
    return TuningResult(best, float(study.best_value), len(study.trials))
