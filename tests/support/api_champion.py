"""A real champion for the API tests and benchmarks: trained on the bundled real sample,
registered in a real MLflow store under a temporary home, with the artifacts the API reads
(holdout metrics, ``players.json``, ``reference/shots_reference.parquet``)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler

from nba_mlops.config import Settings, bundled_sample_path
from nba_mlops.data.schema import KAGGLE_TO_CANONICAL
from nba_mlops.features.serving import to_model_frame
from nba_mlops.registry import Registry

REQUEST_FIELDS = (
    "loc_x",
    "loc_y",
    "period",
    "minutes_remaining",
    "seconds_remaining",
    "action_type",
    "player_id",
    "season_type",
    "game_date",
)


def local_tracking_uri(home: Path) -> str:
    return f"sqlite:///{(home / 'mlflow' / 'mlflow.db').resolve()}"


def home_settings(home: Path) -> Settings:
    """Settings whose MLflow store is the one under ``home``.

    Explicit, because ``mlflow.set_tracking_uri`` exports ``MLFLOW_TRACKING_URI`` to the
    environment, where a later ``Settings()`` would pick up another test's store.
    """
    return Settings(home=home, MLFLOW_TRACKING_URI=local_tracking_uri(home))


def sample_shots() -> pd.DataFrame:
    """The bundled sample in canonical columns, oldest first."""
    raw = pd.read_csv(bundled_sample_path())
    shots = raw.rename(columns=KAGGLE_TO_CANONICAL)
    shots["game_date"] = pd.to_datetime(
        shots["game_date"].astype("Int64").astype("string"), format="%Y%m%d", errors="coerce"
    )
    shots = shots[shots["game_date"].notna() & shots["shot_made_flag"].notna()]
    return shots.sort_values("game_date", kind="stable").reset_index(drop=True)


def _pipeline(c: float) -> Pipeline:
    # Only scikit-learn parts: the pickled model loads in any process (server workers).
    features = ColumnTransformer(
        [
            (
                "court",
                Pipeline([("poly", PolynomialFeatures(degree=2)), ("scale", StandardScaler())]),
                ["loc_x", "loc_y"],
            ),
            ("clock", StandardScaler(), ["period", "minutes_remaining", "seconds_remaining"]),
            (
                "action",
                OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=50),
                ["action_type"],
            ),
        ]
    )
    return Pipeline([("features", features), ("model", LogisticRegression(C=c, max_iter=500))])


def _ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.sum() * abs(y[mask].mean() - p[mask].mean())
    return float(total / len(y))


def _records(shots: pd.DataFrame) -> list[dict[str, Any]]:
    frame = shots.loc[:, list(REQUEST_FIELDS)].copy()
    frame["game_date"] = frame["game_date"].dt.strftime("%Y-%m-%d")
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def register_version(home: Path, *, c: float = 1.0, promote: bool = True) -> int:
    """Train, log and register one model version under ``home``; make it the champion."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    try:
        return _register(home_settings(home), c=c, promote=promote)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _register(settings: Settings, *, c: float, promote: bool) -> int:
    shots = sample_shots()
    cut = int(len(shots) * 0.85)
    train, holdout = shots.iloc[:cut], shots.iloc[cut:]
    model = _pipeline(c)
    model.fit(to_model_frame(_records(train)), train["shot_made_flag"].to_numpy())
    y = holdout["shot_made_flag"].to_numpy()
    p = model.predict_proba(to_model_frame(_records(holdout)))[:, 1]
    metrics = {
        "holdout_log_loss": float(log_loss(y, p)),
        "holdout_brier": float(brier_score_loss(y, p)),
        "holdout_roc_auc": float(roc_auc_score(y, p)),
        "holdout_accuracy": float(accuracy_score(y, p >= 0.5)),
        "holdout_ece": _ece(y, p),
    }
    registry = Registry(settings)
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = Path(tmp)
        (artifacts / "reference").mkdir()
        train.sample(n=min(3000, len(train)), random_state=0).to_parquet(
            artifacts / "reference" / "shots_reference.parquet", index=False
        )
        counts = train["player_id"].value_counts()
        latest = train.drop_duplicates("player_id", keep="last").set_index("player_id")
        players = [
            {
                "player_id": int(str(pid)),
                "player_name": str(latest.at[pid, "player_name"]),
                "team_name": str(latest.at[pid, "team_name"]),
                "shots": int(n),
            }
            for pid, n in counts.items()
        ]
        (artifacts / "players.json").write_text(json.dumps(players), encoding="utf-8")
        logged = registry.log_version(
            model, run_name=f"api-test-c{c}", metrics=metrics, artifacts=artifacts
        )
    version = logged.version
    if promote:
        registry.set_champion(version, "API test model", how="promoted")
    return version
