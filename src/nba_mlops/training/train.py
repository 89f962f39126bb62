"""One training run: context, split, tune and fit every family, calibrate, evaluate,
log and register every candidate in the registry, and decide whether the best one is
promoted."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from nba_mlops import __version__
from nba_mlops.config import Settings
from nba_mlops.data.schema import OPTIONAL_INPUT_COLUMNS, TARGET
from nba_mlops.features.columns import CONTEXT_COLUMNS
from nba_mlops.features.transformers import ShotFeatures
from nba_mlops.log import get_logger, stage
from nba_mlops.registry import (
    PLAYERS_ARTIFACT,
    QUALITY_ARTIFACT,
    REFERENCE_ARTIFACT,
    NoChampionError,
    Registry,
)
from nba_mlops.registry.promotion import Decision, decide_promotion
from nba_mlops.training.calibration import choose_calibration
from nba_mlops.training.dataset import UNKNOWN_WITHOUT_CONTEXT, UNKNOWN_WITHOUT_GAME, model_input
from nba_mlops.training.evaluate import Baselines, baselines, classification_metrics
from nba_mlops.training.models import FAMILIES
from nba_mlops.training.slices import slice_quality
from nba_mlops.training.splits import time_split
from nba_mlops.training.tune import tune

logger = get_logger(__name__)
Progress = Callable[[str], None]

# Context a caller may not have is blanked on a share of the training rows, so the model
# learns what to do without it: the game so far on GAME_DROPOUT of the rows (API callers
# without a game id), the shooter, teams and game on CONTEXT_DROPOUT more (callers
# without a player).
# Measured on the 2022-23 holdout (2026-11-26): blanking the game on 15% cost 0.00014 of
# log loss with context against 5%, and 5% still teaches the trees the missing branches.
GAME_DROPOUT = 0.05
CONTEXT_DROPOUT = 0.03
# Logistic regression and the forest (each tree sees a 100,000-row bootstrap) gain
# nothing from millions of rows but pay for them in time.
FINAL_ROW_CAP = {"logistic": 300_000, "random_forest": 500_000}
REFERENCE_ROWS = 20_000


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


@dataclass
class TrainingReport:
    data_version: str
    split: str
    baselines: Baselines
    candidates: list[Candidate]
    challenger: Candidate
    decision: Decision
    champion_version: int | None
    seconds: float

    def summary(self) -> str:
        c = self.challenger
        verdict = "promoted" if self.decision.promote else "not promoted"
        return (
            f"trained {len(self.candidates)} candidates on data {self.data_version[:8]}; best "
            f"{c.family} v{c.version}: holdout log loss {c.holdout['log_loss']:.4f}, AUC "
            f"{c.holdout['roc_auc']:.3f}, accuracy {c.holdout['accuracy']:.3f} (constant "
            f"{self.baselines.constant['log_loss']:.4f}, distance "
            f"{self.baselines.distance_only['log_loss']:.4f}); {verdict}; champion "
            f"v{self.champion_version} ({self.seconds:.0f} s)"
        )


def code_version() -> str:
    """The git commit the code was trained from, when there is one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
            timeout=5,
        )
        return f"{__version__}+{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def _optional_inputs() -> set[str]:
    """Input columns the model's signature does not require."""
    # Context may be unknown; the optional raw fields are derived or unknown too.
    optional = {*CONTEXT_COLUMNS, *OPTIONAL_INPUT_COLUMNS}
    return optional


def _players(shots: pd.DataFrame) -> list[dict[str, Any]]:
    latest = shots.drop_duplicates("player_id", keep="last").set_index("player_id")
    counts = shots["player_id"].value_counts()
    return [
        {
            "player_id": int(str(pid)),
            "player_name": str(latest.at[pid, "player_name"]),
            "team_name": str(latest.at[pid, "team_name"]),
            "shots": int(n),
        }
        for pid, n in counts.items()
    ]


def _fitting_rows(
    rows: pd.DataFrame, features: ShotFeatures, seed: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature frame and outcomes of ``rows`` for fitting, with the context a caller may
    not have blanked on a share of them (``GAME_DROPOUT``, ``CONTEXT_DROPOUT``)."""
    y = rows[TARGET].to_numpy(dtype="int64")
    given = model_input(rows)
    draw = np.random.default_rng(seed).random(len(given))
    given.loc[draw < GAME_DROPOUT, list(UNKNOWN_WITHOUT_GAME)] = np.nan
    no_context = (draw >= GAME_DROPOUT) & (draw < GAME_DROPOUT + CONTEXT_DROPOUT)
    given.loc[no_context, list(UNKNOWN_WITHOUT_CONTEXT)] = np.nan
    return features.transform(given), y


def _holdout_metrics(model: Any, frames: dict[str, Any]) -> tuple[dict[str, float], ...]:
    """Holdout metrics of ``model``: with context, without the game, without context."""
    y = frames["y_holdout"]
    return tuple(
        classification_metrics(y, model.predict_proba(frames[name])[:, 1])
        for name in ("holdout_input", "holdout_no_game", "holdout_bare")
    )


def _refit(
    candidate: Candidate, settings: Settings, frames: dict[str, Any], progress: Progress
) -> None:
    """Fit ``candidate``'s family again on the refit rows (training and validation),
    with its settled parameters, and keep its calibration: the calibrator learnt on
    validation now maps the refitted model's scores. The holdout stays unseen, so its
    metrics are measured again, on the model that will be served."""
    started = time.perf_counter()
    name = candidate.family
    progress(f"{name}: refitting on training and validation ({len(frames['y_refit']):,} rows)")
    params = {k: v for k, v in candidate.params.items() if k != "calibration"}
    x, y = frames["x_refit"], frames["y_refit"]
    cap = FINAL_ROW_CAP.get(name, 0)
    if cap and len(x) > cap:
        keep = np.sort(
            np.random.default_rng(settings.training.seed).choice(len(x), cap, replace=False)
        )
        x, y = x.iloc[keep], y[keep]
    estimator = FAMILIES[name].fit(params, x, y, None, None, settings.training.seed)
    pipeline = Pipeline([("features", frames["features"]), ("model", estimator)])
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
    ) = _holdout_metrics(calibrated, frames)
    candidate.params["fitted_on"] = "training+validation"
    candidate.fit_seconds += time.perf_counter() - started
    logger.info(
        "%s: refitted on %s rows of training and validation in %.0f s: holdout log loss "
        "%.4f (fitted on training alone %.4f)",
        name,
        f"{len(y):,}",
        time.perf_counter() - started,
        candidate.holdout["log_loss"],
        before,
    )


def _prefixed(progress: Progress, prefix: str) -> Progress:
    return lambda message: progress(f"{prefix}, {message}")


def _fit_candidate(
    name: str, settings: Settings, frames: dict[str, Any], progress: Progress
) -> Candidate:
    family = FAMILIES[name]
    cfg = settings.training
    trials = cfg.trials_for(name)
    started = time.perf_counter()
    progress(f"{name}: tuning ({trials} trials)" if trials > 1 else f"{name}: fitting")

    def trial_done(number: int, total: int, loss: float, best: float) -> None:
        progress(f"{name}: trial {number}/{total} done, best validation log loss {best:.4f}")

    tuned = tune(
        family,
        frames["x_train"],
        frames["y_train"],
        frames["x_val"],
        frames["y_val"],
        trials=trials,
        rows=cfg.tuning_rows,
        seed=cfg.seed,
        on_trial=trial_done,
    )
    progress(f"{name}: final fit")
    x_train, y_train = frames["x_train"], frames["y_train"]
    cap = FINAL_ROW_CAP.get(name, 0)
    if cap and len(x_train) > cap:
        keep = np.sort(np.random.default_rng(cfg.seed).choice(len(x_train), cap, replace=False))
        x_train, y_train = x_train.iloc[keep], y_train[keep]
    # Halving the learning rate for the final fit was measured (2026-11-26): same holdout
    # log loss to four decimals for twice the trees, so the searched step is kept.
    final_params = dict(tuned.params)
    estimator = family.fit(
        final_params, x_train, y_train, frames["x_val"], frames["y_val"], cfg.seed
    )
    val_loss = classification_metrics(
        frames["y_val"], estimator.predict_proba(frames["x_val"])[:, 1]
    )["log_loss"]
    pipeline = Pipeline([("features", frames["features"]), ("model", estimator)])
    progress(f"{name}: calibrating")
    method = choose_calibration(pipeline, frames["val_input"], frames["y_val"], cfg.seed)
    calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method=method)
    calibrated.fit(frames["val_input"], frames["y_val"])
    holdout, without_game, without = _holdout_metrics(calibrated, frames)
    params = dict(final_params)
    if getattr(estimator, "best_iteration_", None):
        params["n_estimators"] = int(estimator.best_iteration_)
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


def _log_candidate(
    registry: Registry,
    parent: str,
    candidate: Candidate,
    report_bits: dict[str, Any],
    artifacts_dir: Path,
) -> None:
    metrics = {f"holdout_{k}": v for k, v in candidate.holdout.items()}
    metrics |= {f"holdout_nogame_{k}": v for k, v in candidate.holdout_without_game.items()}
    metrics |= {f"holdout_nocontext_{k}": v for k, v in candidate.holdout_without_context.items()}
    metrics |= {f"baseline_{k}": v for k, v in report_bits["baseline_metrics"].items()}
    metrics["validation_log_loss"] = candidate.validation_log_loss
    metrics["fit_seconds"] = candidate.fit_seconds
    logged = registry.log_version(
        candidate.model,
        run_name=candidate.family,
        parent=parent,
        tags={
            "family": candidate.family,
            "data_version": report_bits["data_version"],
            "code_version": report_bits["code_version"],
            "holdout": str(report_bits["holdout"]),
        },
        params={f"param_{k}": v for k, v in candidate.params.items()} | report_bits["split_params"],
        metrics=metrics,
        artifacts=artifacts_dir,
        documents={QUALITY_ARTIFACT: report_bits["quality"][candidate.family]},
        input_example=report_bits["input_example"],
        optional_inputs=_optional_inputs(),
        version_tags={"family": candidate.family},
    )
    candidate.run_id = logged.run_id
    candidate.version = logged.version


def score_champion(registry: Registry, holdout_input: pd.DataFrame, y: np.ndarray) -> float | None:
    """The current champion's log loss on this run's holdout (None when there is none)."""
    try:
        model, _ = registry.load_model()
    except NoChampionError:
        return None
    return classification_metrics(y, model.predict_proba(holdout_input)[:, 1])["log_loss"]


def train(
    settings: Settings,
    shots: pd.DataFrame,
    data_version: str,
    *,
    progress: Progress | None = None,
) -> TrainingReport:
    """Train every configured family on ``shots`` (canonical columns with their context,
    in time order: ``training.dataset.load_shots``) and decide."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    cfg = settings.training
    registry = Registry(settings)

    with stage(logger, "split"):
        split = time_split(shots)
        del shots  # the split holds everything still needed
        logger.info("split: %s", split.describe())
        seen = pd.concat([split.train, split.validation])
        base = baselines(seen, split.holdout, TARGET)
        players = _players(seen)
        del seen
        # The drift reference is the most recent data the model saw, so that drift
        # means "unlike today's game", not "unlike 1998".
        reference = split.validation.sample(
            min(REFERENCE_ROWS, len(split.validation)), random_state=cfg.seed
        ).loc[:, [c for c in split.validation.columns if c not in CONTEXT_COLUMNS]]
        logger.info(
            "baselines on the holdout: constant log loss %.4f, distance-only %.4f",
            base.constant["log_loss"],
            base.distance_only["log_loss"],
        )
        features = ShotFeatures(rare_action_min_count=cfg.rare_action_min_count)
        features.fit(split.train.loc[:, list(ShotFeatures.FIT_COLUMNS)])
        # The estimators are fitted on the most recent ``max_train_rows`` training rows.
        recent = split.train
        if cfg.max_train_rows and len(recent) > cfg.max_train_rows:
            recent = recent.iloc[-cfg.max_train_rows :]
        x_train, y_train = _fitting_rows(recent, features, cfg.seed)
        del recent
        refit: dict[str, Any] = {}
        if cfg.refit:
            # the most recent rows of training and validation, for the chosen family
            older = split.train
            if cfg.max_train_rows:
                keep = max(cfg.max_train_rows - len(split.validation), 0)
                older = older.iloc[len(older) - min(keep, len(older)) :]
            both = pd.concat([older, split.validation])
            del older
            refit["x_refit"], refit["y_refit"] = _fitting_rows(both, features, cfg.seed + 1)
            del both
        val_input = model_input(split.validation)
        frames: dict[str, Any] = {
            "features": features,
            "x_train": x_train,
            "y_train": y_train,
            "val_input": val_input,
            "x_val": features.transform(val_input),
            "y_val": split.validation[TARGET].to_numpy(dtype="int64"),
            "holdout_input": model_input(split.holdout),
            "holdout_no_game": model_input(split.holdout, UNKNOWN_WITHOUT_GAME),
            "holdout_bare": model_input(split.holdout, UNKNOWN_WITHOUT_CONTEXT),
            "y_holdout": split.holdout[TARGET].to_numpy(dtype="int64"),
        } | refit
        del x_train
        described = split.describe()
        holdout_label, validation_label = split.holdout_label, split.validation_label
        rows = {
            "train": len(split.train),
            "validation": len(split.validation),
            "holdout": len(split.holdout),
        }
        del split

    candidates: list[Candidate] = []
    for number, name in enumerate(cfg.families, start=1):
        if name not in FAMILIES:
            raise ValueError(f"unknown model family {name!r}; known: {sorted(FAMILIES)}")
        family_progress = _prefixed(say, f"family {number}/{len(cfg.families)}")
        with stage(logger, f"train {name} (family {number}/{len(cfg.families)})"):
            candidates.append(_fit_candidate(name, settings, frames, family_progress))

    challenger = min(candidates, key=lambda c: c.validation_log_loss)
    if cfg.refit:
        with stage(logger, f"refit {challenger.family}"):
            _refit(challenger, settings, frames, say)
        del frames["x_refit"], frames["y_refit"]
    say("logging candidates to MLflow")
    registry.ensure_registered_model()
    champion_loss = score_champion(registry, frames["holdout_input"], frames["y_holdout"])
    decision = decide_promotion(
        challenger.holdout["log_loss"],
        champion_loss,
        base.constant["log_loss"],
        cfg.promotion_margin,
    )
    example = frames["holdout_input"].head(5).reset_index(drop=True)
    quality = {
        c.family: slice_quality(
            frames["holdout_input"],
            frames["y_holdout"],
            c.model.predict_proba(frames["holdout_input"])[:, 1],
        )
        for c in candidates
    }
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = Path(tmp)
        (artifacts / REFERENCE_ARTIFACT).parent.mkdir(parents=True)
        reference.to_parquet(artifacts / REFERENCE_ARTIFACT, index=False)
        (artifacts / PLAYERS_ARTIFACT).write_text(json.dumps(players), encoding="utf-8")
        bits = {
            "data_version": data_version,
            "code_version": code_version(),
            "holdout": holdout_label,
            "split_params": {
                "train_rows": rows["train"],
                "validation_rows": rows["validation"],
                "holdout_rows": rows["holdout"],
                "validation": validation_label,
                "seed": cfg.seed,
            },
            "baseline_metrics": {f"constant_{k}": v for k, v in base.constant.items()}
            | {f"distance_{k}": v for k, v in base.distance_only.items()},
            "input_example": example,
            "quality": quality,
        }
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        parent_tags = {"data_version": data_version, "code_version": bits["code_version"]}
        with registry.training_run(f"training-{stamp}", parent_tags) as parent:
            for candidate in candidates:
                _log_candidate(registry, parent, candidate, bits, artifacts)

    evidence = {
        "holdout": holdout_label,
        "challenger_holdout_log_loss": round(challenger.holdout["log_loss"], 6),
        "champion_holdout_log_loss": None if champion_loss is None else round(champion_loss, 6),
        "constant_baseline_log_loss": round(base.constant["log_loss"], 6),
        "margin": cfg.promotion_margin,
        "data_version": data_version,
    }
    for candidate in candidates:
        if candidate is challenger:
            continue
        registry.record_decision(
            candidate.version,
            "rejected",
            f"not the best family on validation ({candidate.validation_log_loss:.4f} vs "
            f"{challenger.family} {challenger.validation_log_loss:.4f})",
            evidence | {"challenger_holdout_log_loss": round(candidate.holdout["log_loss"], 6)},
        )
    if decision.promote:
        registry.set_champion(challenger.version, decision.reason, "promoted")
    else:
        registry.record_decision(challenger.version, "rejected", decision.reason, evidence)
    champion = registry.champion_version()
    report = TrainingReport(
        data_version=data_version,
        split=described,
        baselines=base,
        candidates=candidates,
        challenger=challenger,
        decision=decision,
        champion_version=champion,
        seconds=time.perf_counter() - started,
    )
    logger.info(report.summary())
    return report
