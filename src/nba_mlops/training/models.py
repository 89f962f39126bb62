"""Candidate model families: each builds the estimator that follows the feature step.

* ``logistic``: the original project's model, on one-hot and scaled features;
* ``random_forest``: the original specification's model;
* ``lightgbm``: gradient-boosted trees with native categorical splits and early stopping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, SplineTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from nba_mlops.config import TrainingSettings
from nba_mlops.features.transformers import CATEGORICAL_FEATURES, NUMERIC_FEATURES

Params = dict[str, Any]

# Below this many rows a fit runs its native code on one thread: LightGBM's OpenMP team
# and the BLAS under the linear model synchronise once per tree level or per iteration,
# which on a small frame costs more than a second core gives, and far more when the cores
# are busy with other work. Measured on the bundled sample's 20,859 training rows on the
# 2-core VM under a load average of 5 (2026-12-06): LightGBM 0.9 s on one thread against
# 5.4-5.9 s on two (CPU 0.6 s against 3.7 s), logistic regression 1.3-1.6 s against
# 14-17 s. Larger fits (the full data's 300,000-row search sample and up) keep every core.
SMALL_FIT_ROWS = 100_000


def fit_threads(rows: int) -> int:
    """Native threads for a fit on ``rows`` rows: one for a small frame, else every core
    (-1, as LightGBM and joblib count them)."""
    return 1 if rows < SMALL_FIT_ROWS else -1


def _nothing_settled(estimator: Any) -> Params:
    return {}


@dataclass(frozen=True)
class Family:
    """A model family: its search space, how to fit it on feature frames, and how a
    training run treats it. Adding a family is one entry in :data:`FAMILIES`."""

    name: str
    suggest: Callable[[optuna.Trial], Params]
    defaults: Params
    # fit(params, x, y, x_val, y_val, seed); x_val/y_val None for a refit with settled params
    fit: Callable[[Params, pd.DataFrame, np.ndarray, Any, Any, int], Any]
    # The final fit (and the refit) uses at most this many rows, a seeded sample of the
    # fitting rows; 0: all of them.
    final_row_cap: int = 0
    # "full": the whole search of the full profile (``tuning_trials``); "token": a quarter
    # of it (at least one trial: the defaults), for a family that barely moves with more.
    search: Literal["full", "token"] = "token"
    # Parameters a fitted estimator chose itself (the number of trees early stopping kept),
    # recorded with the searched ones and used as they are by a refit.
    settled: Callable[[Any], Params] = _nothing_settled

    def trials(self, cfg: TrainingSettings) -> int:
        """Trials of this family's search; 1 means its defaults, without a search."""
        if cfg.profile == "quick":
            return 1
        if self.search == "full":
            return cfg.tuning_trials
        return max(1, cfg.tuning_trials // 4)


# -- logistic regression ----------------------------------------------------------------
def _logistic_suggest(trial: optuna.Trial) -> Params:
    return {"C": trial.suggest_float("C", 1e-3, 10.0, log=True)}


def _logistic_fit(
    params: Params,
    x: pd.DataFrame,
    y: np.ndarray,
    xv: pd.DataFrame | None,
    yv: np.ndarray | None,
    seed: int,
) -> Pipeline:
    numeric = [c for c in NUMERIC_FEATURES if c != "distance_ft"]
    prep = ColumnTransformer(
        [
            (
                "distance",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median")),
                        ("spline", SplineTransformer(n_knots=8, degree=3)),
                    ]
                ),
                ["distance_ft"],
            ),
            (
                "numeric",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            ),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", min_frequency=50),
                list(CATEGORICAL_FEATURES),
            ),
        ]
    )
    model = Pipeline(
        [
            ("labels", CategoryLabels()),
            ("prep", prep),
            ("clf", LogisticRegression(C=params["C"], max_iter=300, tol=1e-4)),
        ]
    )
    with threadpool_limits(limits=1 if fit_threads(len(x)) == 1 else None):
        return model.fit(x, y)


# -- random forest ----------------------------------------------------------------------
def _forest_suggest(trial: optuna.Trial) -> Params:
    return {
        "max_depth": trial.suggest_int("max_depth", 8, 16),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 20, 400, log=True),
        "max_features": trial.suggest_float("max_features", 0.2, 0.7),
    }


def _forest_fit(
    params: Params,
    x: pd.DataFrame,
    y: np.ndarray,
    xv: pd.DataFrame | None,
    yv: np.ndarray | None,
    seed: int,
) -> Pipeline:
    prep = ColumnTransformer(
        [
            (
                "numeric",
                SimpleImputer(strategy="constant", fill_value=-1.0),
                list(NUMERIC_FEATURES),
            ),
            (
                "categorical",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                list(CATEGORICAL_FEATURES),
            ),
        ]
    )
    forest = RandomForestClassifier(
        n_estimators=params.get("n_estimators", 60),
        max_depth=params["max_depth"],
        min_samples_leaf=params["min_samples_leaf"],
        max_features=params["max_features"],
        # Each tree sees a bootstrap of at most this many rows: a forest gains little
        # from more and its cost grows linearly with them.
        max_samples=min(len(x), params.get("max_samples", 100_000)),
        n_jobs=-1,
        random_state=seed,
    )
    model = Pipeline([("labels", CategoryLabels()), ("prep", prep), ("clf", forest)])
    return model.fit(x, y)


# -- LightGBM ---------------------------------------------------------------------------
def _lightgbm_suggest(trial: optuna.Trial) -> Params:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.05, 0.2, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 15, 255, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 20, 1000, log=True),
        "subsample": trial.suggest_float("subsample", 0.6, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 20.0, log=True),
        "cat_smooth": trial.suggest_float("cat_smooth", 1.0, 50.0, log=True),
    }


def _lightgbm_fit(
    params: Params,
    x: pd.DataFrame,
    y: np.ndarray,
    xv: pd.DataFrame | None,
    yv: np.ndarray | None,
    seed: int,
) -> lgb.LGBMClassifier:
    model = lgb.LGBMClassifier(
        objective="binary",
        n_estimators=params.get("n_estimators", 1500),
        subsample_freq=1,
        max_bin=127,
        random_state=seed,
        n_jobs=fit_threads(len(x)),
        verbose=-1,
        **{k: v for k, v in params.items() if k != "n_estimators"},
    )
    if xv is None or yv is None:  # a refit: the number of trees is given, nothing to stop early on
        return model.fit(x, y)
    model.fit(
        x,
        y,
        eval_X=(xv,),
        eval_y=(yv,),
        eval_metric="binary_logloss",
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    # The model predicts (and is calibrated, judged, saved and compiled) with the number
    # of trees a refit will be given: the booster's best iteration is what it reads.
    if model.best_iteration_:
        losses = model.evals_result_["valid_0"]["binary_logloss"]
        model.booster_.best_iteration = fewest_trees(losses, model.best_iteration_)
    return model


# The served forest keeps the fewest trees whose validation log loss is within this much
# of the best number's (which early stopping finds): the last trees of a slow-learning
# forest each gain a millionth of log loss, and every shot scored pays for every tree.
# Measured on the full data (2026-12-06): see docs/model.md, "How many trees".
TREE_TOLERANCE = 1e-4


def fewest_trees(losses: Sequence[float], best: int) -> int:
    """The fewest trees whose validation log loss (``losses``, by number of trees) is
    within ``TREE_TOLERANCE`` of that of ``best`` trees (early stopping's)."""
    within = np.flatnonzero(np.asarray(losses[:best]) <= losses[best - 1] + TREE_TOLERANCE)
    return int(within[0]) + 1


def _lightgbm_settled(estimator: Any) -> Params:
    """The number of trees an early-stopped fit predicts with (``_lightgbm_fit``)."""
    best = getattr(getattr(estimator, "booster_", None), "best_iteration", 0)
    return {"n_estimators": int(best)} if best and best > 0 else {}


class CategoryLabels(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Turn categorical columns into plain labels (missing is a label too) for encoders."""

    def fit(self, x: pd.DataFrame, y: Any = None) -> CategoryLabels:
        return self

    def transform(self, x: pd.DataFrame) -> pd.DataFrame:
        out = x.copy()
        for column in CATEGORICAL_FEATURES:
            out[column] = out[column].astype("object").fillna("missing")
        return out


# Logistic regression and the forest (each tree sees a 100,000-row bootstrap) gain nothing
# from millions of rows in their final fit but pay for them in time. The boosted trees earn
# their search; the forest and the linear model barely move with it, so they get a token
# one (their defaults are tried first).
FAMILIES: dict[str, Family] = {
    "logistic": Family(
        "logistic",
        _logistic_suggest,
        {"C": 1.0},
        _logistic_fit,
        final_row_cap=300_000,
        search="token",
    ),
    "random_forest": Family(
        "random_forest",
        _forest_suggest,
        {"max_depth": 12, "min_samples_leaf": 100, "max_features": 0.4},
        _forest_fit,
        final_row_cap=500_000,
        search="token",
    ),
    "lightgbm": Family(
        "lightgbm",
        _lightgbm_suggest,
        {
            "learning_rate": 0.08,
            "num_leaves": 63,
            "min_child_samples": 200,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "reg_lambda": 1.0,
            "cat_smooth": 10.0,
        },
        _lightgbm_fit,
        final_row_cap=0,
        search="full",
        settled=_lightgbm_settled,
    ),
}
