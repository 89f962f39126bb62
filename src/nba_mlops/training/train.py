"""One training run as a composition of typed steps: split and :func:`prepare` the data,
:func:`fit_family` for every configured family, :func:`choose` the challenger and
:func:`refit` it, :func:`decide` on promotion against the champion, :func:`register`
every candidate in the registry, and :func:`record_decisions`."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nba_mlops import __version__
from nba_mlops.config import Settings
from nba_mlops.data.schema import OPTIONAL_INPUT_COLUMNS
from nba_mlops.features.columns import CONTEXT_COLUMNS
from nba_mlops.log import get_logger, stage
from nba_mlops.registry import (
    PLAYERS_ARTIFACT,
    QUALITY_ARTIFACT,
    REFERENCE_ARTIFACT,
    NoChampionError,
    Registry,
)
from nba_mlops.registry.promotion import Decision, decide_promotion
from nba_mlops.training.evaluate import Baselines, classification_metrics
from nba_mlops.training.fit import Candidate, Progress, fit_family, refit
from nba_mlops.training.models import FAMILIES, Family
from nba_mlops.training.prepare import TrainingData, prepare
from nba_mlops.training.slices import slice_quality
from nba_mlops.training.splits import time_split

logger = get_logger(__name__)


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


def families(names: Sequence[str]) -> list[Family]:
    """The families of ``names``, in order; an unknown one is a ``ValueError``."""
    unknown = [name for name in names if name not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown model family {unknown[0]!r}; known: {sorted(FAMILIES)}")
    return [FAMILIES[name] for name in names]


def choose(candidates: Sequence[Candidate]) -> Candidate:
    """The challenger: the candidate with the lowest validation log loss (the first of
    equals)."""
    return min(candidates, key=lambda c: c.validation_log_loss)


@dataclass(frozen=True)
class _RunFacts:
    """What every candidate's run records besides its own results."""

    data_version: str
    code_version: str
    holdout: str
    split_params: dict[str, Any]
    baseline_metrics: dict[str, float]
    input_example: pd.DataFrame
    quality: Mapping[str, dict[str, Any]]


def _log_candidate(
    registry: Registry,
    parent: str,
    candidate: Candidate,
    facts: _RunFacts,
    artifacts_dir: Path,
) -> None:
    """Log ``candidate`` in a run under ``parent`` and register it; sets its run id and
    version."""
    metrics = {f"holdout_{k}": v for k, v in candidate.holdout.items()}
    metrics |= {f"holdout_nogame_{k}": v for k, v in candidate.holdout_without_game.items()}
    metrics |= {f"holdout_nocontext_{k}": v for k, v in candidate.holdout_without_context.items()}
    metrics |= {f"baseline_{k}": v for k, v in facts.baseline_metrics.items()}
    metrics["validation_log_loss"] = candidate.validation_log_loss
    metrics["fit_seconds"] = candidate.fit_seconds
    logged = registry.log_version(
        candidate.model,
        run_name=candidate.family,
        parent=parent,
        tags={
            "family": candidate.family,
            "data_version": facts.data_version,
            "code_version": facts.code_version,
            "holdout": str(facts.holdout),
        },
        params={f"param_{k}": v for k, v in candidate.params.items()} | facts.split_params,
        metrics=metrics,
        artifacts=artifacts_dir,
        documents={QUALITY_ARTIFACT: facts.quality[candidate.family]},
        input_example=facts.input_example,
        optional_inputs=_optional_inputs(),
        version_tags={"family": candidate.family},
    )
    candidate.run_id = logged.run_id
    candidate.version = logged.version


def register(
    registry: Registry,
    data: TrainingData,
    candidates: Sequence[Candidate],
    data_version: str,
    seed: int,
) -> None:
    """Log every candidate, with its quality by slice, the drift reference and the
    players, in one training run of the registry, each as a new model version (their
    ``run_id`` and ``version`` are set)."""
    holdout = data.holdout
    quality = {
        c.family: slice_quality(
            holdout.given, holdout.y, c.model.predict_proba(holdout.given)[:, 1]
        )
        for c in candidates
    }
    base = data.baselines
    split = data.split
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = Path(tmp)
        (artifacts / REFERENCE_ARTIFACT).parent.mkdir(parents=True)
        data.reference.to_parquet(artifacts / REFERENCE_ARTIFACT, index=False)
        (artifacts / PLAYERS_ARTIFACT).write_text(json.dumps(data.players), encoding="utf-8")
        facts = _RunFacts(
            data_version=data_version,
            code_version=code_version(),
            holdout=split.holdout_label,
            split_params={
                "train_rows": split.train_rows,
                "validation_rows": split.validation_rows,
                "holdout_rows": split.holdout_rows,
                "validation": split.validation_label,
                "seed": seed,
            },
            baseline_metrics={f"constant_{k}": v for k, v in base.constant.items()}
            | {f"distance_{k}": v for k, v in base.distance_only.items()},
            input_example=holdout.given.head(5).reset_index(drop=True),
            quality=quality,
        )
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        parent_tags = {"data_version": data_version, "code_version": facts.code_version}
        with registry.training_run(f"training-{stamp}", parent_tags) as parent:
            for candidate in candidates:
                _log_candidate(registry, parent, candidate, facts, artifacts)


def score_champion(registry: Registry, holdout_input: pd.DataFrame, y: np.ndarray) -> float | None:
    """The current champion's log loss on this run's holdout (None when there is none)."""
    try:
        model, _ = registry.load_model()
    except NoChampionError:
        return None
    return classification_metrics(y, model.predict_proba(holdout_input)[:, 1])["log_loss"]


def decide(
    registry: Registry, data: TrainingData, challenger: Candidate, margin: float
) -> Decision:
    """Whether ``challenger`` replaces the champion: both judged on this run's holdout."""
    champion_loss = score_champion(registry, data.holdout.given, data.holdout.y)
    return decide_promotion(
        challenger.holdout["log_loss"],
        champion_loss,
        data.baselines.constant["log_loss"],
        margin,
    )


def record_decisions(
    registry: Registry,
    candidates: Sequence[Candidate],
    challenger: Candidate,
    decision: Decision,
    *,
    holdout: str,
    data_version: str,
) -> int | None:
    """Record, on every registered candidate, why it was or was not promoted, and
    promote the challenger when ``decision`` says so; returns the champion's version."""
    evidence = {
        "holdout": holdout,
        "challenger_holdout_log_loss": round(challenger.holdout["log_loss"], 6),
        "champion_holdout_log_loss": (
            None if decision.champion_log_loss is None else round(decision.champion_log_loss, 6)
        ),
        "constant_baseline_log_loss": round(decision.baseline_log_loss, 6),
        "margin": decision.margin,
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
    return registry.champion_version()


def _prefixed(progress: Progress, prefix: str) -> Progress:
    return lambda message: progress(f"{prefix}, {message}")


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
    chosen = families(cfg.families)
    registry = Registry(settings)

    with stage(logger, "split"):
        split = time_split(shots)
        del shots  # the split holds everything still needed
        logger.info("split: %s", split.describe())
        data = prepare(split, cfg)
        del split

    candidates: list[Candidate] = []
    for number, family in enumerate(chosen, start=1):
        family_progress = _prefixed(say, f"family {number}/{len(chosen)}")
        with stage(logger, f"train {family.name} (family {number}/{len(chosen)})"):
            candidates.append(fit_family(family, data, cfg, family_progress))

    challenger = choose(candidates)
    if cfg.refit:
        with stage(logger, f"refit {challenger.family}"):
            refit(challenger, data, cfg.seed, say)
        data = data.without_refit_rows()
    say("logging candidates to MLflow")
    registry.ensure_registered_model()
    decision = decide(registry, data, challenger, cfg.promotion_margin)
    register(registry, data, candidates, data_version, cfg.seed)
    champion = record_decisions(
        registry,
        candidates,
        challenger,
        decision,
        holdout=data.split.holdout_label,
        data_version=data_version,
    )
    report = TrainingReport(
        data_version=data_version,
        split=data.split.description,
        baselines=data.baselines,
        candidates=candidates,
        challenger=challenger,
        decision=decision,
        champion_version=champion,
        seconds=time.perf_counter() - started,
    )
    logger.info(report.summary())
    return report
