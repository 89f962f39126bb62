"""How good a model is: on the store's holdout, and in backtests through the batch path.

``evaluate_version`` scores a registered model on the holdout of the current split,
beside the baselines. ``backtest`` answers the question a user of the model asks: had
we trained on everything before season N, how well would ``predict-batch`` have
predicted season N? For each of the last K seasons it builds a store of the seasons
before N in a working folder, runs the same training, then scores season N's shots as
a file through ``predict-batch`` (the shot history of that store and of the file, as a
user's new season gets it), beside the constant make rate, a logistic regression on
distance and the quick reference (``training.evaluate.quick_reference``).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nba_mlops.config import Settings
from nba_mlops.data.schema import KAGGLE_TO_CANONICAL, STORE_COLUMNS, TARGET
from nba_mlops.data.store import ShotStore
from nba_mlops.inference.batch import predict_batch
from nba_mlops.log import get_logger
from nba_mlops.registry import Registry
from nba_mlops.training.dataset import (
    UNKNOWN_WITHOUT_CONTEXT,
    UNKNOWN_WITHOUT_GAME,
    load_shots,
    model_input,
    with_context,
)
from nba_mlops.training.evaluate import (
    Baselines,
    baselines,
    classification_metrics,
    quick_reference,
)
from nba_mlops.training.slices import slice_quality
from nba_mlops.training.splits import season_label, time_split

logger = get_logger(__name__)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Evaluation:
    version: int
    holdout: str
    rows: int
    with_context: dict[str, float]
    without_game: dict[str, float]
    without_context: dict[str, float]
    baselines: Baselines
    # Quality by slice and reliability bins (``training.slices``).
    quality: dict[str, Any] | None = None

    def rows_by_model(self) -> dict[str, dict[str, float]]:
        return {
            f"v{self.version}": self.with_context,
            f"v{self.version} without the game": self.without_game,
            f"v{self.version} without context": self.without_context,
            "constant make rate": self.baselines.constant,
            "logistic on distance": self.baselines.distance_only,
        }

    def summary(self) -> str:
        m = self.with_context
        return (
            f"v{self.version} on the holdout ({self.holdout}): log loss {m['log_loss']:.4f} "
            f"(without the game {self.without_game['log_loss']:.4f}, without context "
            f"{self.without_context['log_loss']:.4f}; constant "
            f"{self.baselines.constant['log_loss']:.4f}, distance "
            f"{self.baselines.distance_only['log_loss']:.4f}), AUC {m['roc_auc']:.3f}, "
            f"accuracy {m['accuracy']:.3f}, ECE {m['ece']:.4f}"
        )


def evaluate_version(
    settings: Settings,
    version: int | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Evaluate ``version`` (default: the champion) on the current split's holdout."""
    say = progress or (lambda _m: None)
    say("loading the model")
    model, version = Registry(settings).load_model(version)
    say("reading the store and its shot history")
    shots, _ = load_shots(settings)
    split = time_split(shots)
    y = split.holdout[TARGET].to_numpy(dtype="int64")
    say("scoring the holdout")

    def score(unknown: tuple[str, ...] = ()) -> dict[str, float]:
        frame = model_input(split.holdout, unknown)
        return classification_metrics(y, model.predict_proba(frame)[:, 1])

    base = baselines(pd.concat([split.train, split.validation]), split.holdout, TARGET)
    holdout_input = model_input(split.holdout)
    quality = slice_quality(holdout_input, y, model.predict_proba(holdout_input)[:, 1])
    return Evaluation(
        version,
        split.holdout_label,
        len(split.holdout),
        score(),
        score(UNKNOWN_WITHOUT_GAME),
        score(UNKNOWN_WITHOUT_CONTEXT),
        base,
        quality,
    )


# --- backtests ------------------------------------------------------------------------------
@dataclass
class BacktestSeason:
    """Season N scored by a model trained on the seasons before it."""

    season: int
    rows: int
    rows_scored: int
    family: str
    trained_on: int
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return season_label(self.season)


BACKTEST_MODELS = (
    "model (predict-batch)",
    "model without the game",
    "model without context",
    "quick reference",
    "logistic on distance",
    "constant make rate",
)


def _as_file(shots: pd.DataFrame, path: Path) -> None:
    """Stored shots written back as a shot file in the Kaggle layout."""
    names = {canonical: source for source, canonical in KAGGLE_TO_CANONICAL.items()}
    frame = shots.loc[:, [c for c in names if c in shots.columns]].rename(columns=names)
    frame["Game Date"] = pd.to_datetime(frame["Game Date"]).dt.strftime("%Y-%m-%d")
    frame.to_csv(path, index=False)


def backtest_season(
    settings: Settings, season: int, workdir: Path, progress: Progress | None = None
) -> BacktestSeason:
    """Train on the store's seasons before ``season`` (in ``workdir``), then score the
    season's shots through ``predict-batch``."""
    from nba_mlops.pipeline import run_training

    say = progress or (lambda _m: None)
    label = season_label(season)
    store = ShotStore(settings)
    earlier = [s for s in store.seasons() if int(s[:4]) < season]
    if not earlier:
        raise ValueError(f"no stored season before {label} to train on")
    home = workdir / f"backtest-{label}"
    shutil.rmtree(home, ignore_errors=True)
    local = settings.model_copy(
        update={"home": home, "mlflow_tracking_uri": None, "database_url": None}
    )
    local.ensure_dirs()
    say(f"{label}: a store of the {len(earlier)} seasons before it")
    past = ShotStore(local)
    with past.lock():
        past.append(
            store.read(columns=list(STORE_COLUMNS), seasons=earlier),
            {"source": f"backtest of {label}: seasons before it"},
        )
    say(f"{label}: training on them")
    report = run_training(local, progress)
    version = report.challenger.version
    target = store.read(columns=list(STORE_COLUMNS), seasons=[label])
    source = home / f"shots_{label}.csv"
    _as_file(target, source)
    say(f"{label}: scoring its {len(target):,} shots with predict-batch")
    scored_path = home / f"scored_{label}.csv"
    # the saved model itself: compiling a forest for one file costs more than it saves
    # (the compiled one gives the same probabilities; inference.compiled checks it)
    batch = predict_batch(local, source, scored_path, version=version, compiled=False)
    scored = pd.read_csv(
        scored_path, usecols=["Game ID", "Game Event ID", "Shot Made Flag", "make_probability"]
    )
    result = BacktestSeason(
        season, len(target), batch.rows_scored, report.challenger.family, past.data_version().rows
    )
    result.metrics["model (predict-batch)"] = classification_metrics(
        scored["Shot Made Flag"].to_numpy("int64"), scored["make_probability"].to_numpy()
    )

    say(f"{label}: the model without the game and without context; the baselines")
    model, _ = Registry(local).load_model(version)
    rows = with_context(local, target)
    y = rows[TARGET].to_numpy("int64")
    for name, unknown in (
        ("model without the game", UNKNOWN_WITHOUT_GAME),
        ("model without context", UNKNOWN_WITHOUT_CONTEXT),
    ):
        probability = model.predict_proba(model_input(rows, unknown))[:, 1]
        result.metrics[name] = classification_metrics(y, probability)
    history = past.read(
        columns=[
            "player_id",
            "shot_zone_basic",
            "season_start_year",
            "shot_made_flag",
            "loc_x",
            "loc_y",
            "action_type",
            "period",
            "minutes_remaining",
            "seconds_remaining",
            "game_id",
            "game_event_id",
        ]
    )
    history = history.sort_values(["season_start_year", "game_id", "game_event_id"])
    ordered = target.sort_values(["game_id", "game_event_id"])
    result.metrics["quick reference"] = quick_reference(history, ordered, TARGET)
    base = baselines(history, ordered, TARGET)
    result.metrics["logistic on distance"] = base.distance_only
    result.metrics["constant make rate"] = base.constant
    logger.info(
        "backtest %s: log loss %.4f (quick reference %.4f, constant %.4f)",
        label,
        result.metrics["model (predict-batch)"]["log_loss"],
        result.metrics["quick reference"]["log_loss"],
        result.metrics["constant make rate"]["log_loss"],
    )
    return result


@dataclass
class Backtest:
    seasons: list[BacktestSeason]
    created_at: str

    def pooled(self, name: str) -> dict[str, float]:
        """Row-weighted mean of each metric over the seasons."""
        weights = np.array([s.rows_scored for s in self.seasons], dtype="float64")
        keys = self.seasons[0].metrics[name].keys()
        return {
            k: float(np.average([s.metrics[name][k] for s in self.seasons], weights=weights))
            for k in keys
        }

    def to_json(self) -> dict[str, Any]:
        return {"created_at": self.created_at, "seasons": [asdict(s) for s in self.seasons]}

    def markdown(self) -> str:
        lines = [
            "| season | model | log loss | AUC | accuracy | ECE |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for s in self.seasons:
            for name in BACKTEST_MODELS:
                m = s.metrics[name]
                lines.append(
                    f"| {s.label} ({s.rows_scored:,} shots) | {name} | {m['log_loss']:.4f} | "
                    f"{m['roc_auc']:.4f} | {m['accuracy']:.4f} | {m['ece']:.4f} |"
                )
        return "\n".join(lines)


def backtest(
    settings: Settings,
    seasons: int,
    *,
    progress: Progress | None = None,
    workdir: Path | None = None,
) -> Backtest:
    """Backtests of the store's last ``seasons`` seasons; the table is also written to
    ``<home>/reports/backtest-<time>.json`` and ``.md``."""
    labels = ShotStore(settings).seasons()
    if seasons < 1 or seasons >= len(labels):
        raise ValueError(
            f"--backtest needs between 1 and {len(labels) - 1} seasons: the store holds "
            f"{len(labels)} and each backtest trains on the seasons before its own"
        )
    chosen = [int(s[:4]) for s in labels[-seasons:]]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    results = []
    with tempfile.TemporaryDirectory(dir=workdir or settings.home, prefix=".backtest-") as folder:
        for season in chosen:
            results.append(backtest_season(settings, season, Path(folder), progress))
            shutil.rmtree(Path(folder) / f"backtest-{season_label(season)}", ignore_errors=True)
    outcome = Backtest(results, stamp)
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    (settings.reports_dir / f"backtest-{stamp}.json").write_text(
        json.dumps(outcome.to_json(), indent=1), encoding="utf-8"
    )
    (settings.reports_dir / f"backtest-{stamp}.md").write_text(
        outcome.markdown() + "\n", encoding="utf-8"
    )
    return outcome
