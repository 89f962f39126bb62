"""The pipeline stages as plain functions: the CLI, the orchestrator and the tests all
call these, so nothing is written twice."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nba_mlops.config import Settings
from nba_mlops.data.ingest import (
    IngestReport,
    ProgressCallback,
    ShotFileError,
    ingest_file,
    ingest_incoming,
)
from nba_mlops.data.store import ShotStore
from nba_mlops.inference.batch import BatchReport, predict_batch
from nba_mlops.log import get_logger, stage
from nba_mlops.training.lock import training_lock
from nba_mlops.training.train import TrainingReport, train

logger = get_logger(__name__)
Progress = Callable[[str], None]


def load_training_shots(settings: Settings) -> tuple[pd.DataFrame, str]:
    """Every stored shot with its context, in time order, and the store's data version."""
    from nba_mlops.training.dataset import load_shots

    return load_shots(settings)


def run_training(
    settings: Settings, progress: Progress | None = None, *, owner: str = ""
) -> TrainingReport:
    """Train candidates on the whole store and decide on promotion, holding the training
    lock of the home (``TrainingInProgressError`` when another training holds it;
    ``owner`` says who holds it, for the one refused)."""
    with training_lock(settings, owner=owner or "nba-mlops training"):
        with stage(logger, "load shots"):
            if progress:
                progress("reading the store and its shot history")
            shots, version = load_training_shots(settings)
            logger.info("read %d shots from the store (data version %s)", len(shots), version[:12])
        # Hand the frame over without keeping a reference in this frame, so training can
        # free the shots once it has split them.
        box = [shots]
        del shots
        return train(settings, box.pop(), version, progress=progress)


def refresh_features(settings: Settings) -> str:
    """Bring the shot history and the online feature table up to the store's version
    (after every ingest: the API looks shooters up there); what it did, in a line."""
    from nba_mlops.features.online import publish

    return publish(settings).summary()


@dataclass
class IngestRun:
    """What one ingest stage did: a report per file, in order (a refused file's report
    carries ``refused``, the reason), and what refreshing the shot history did."""

    reports: list[IngestReport]
    features: str = ""

    @property
    def accepted(self) -> list[IngestReport]:
        return [r for r in self.reports if r.refused is None]

    @property
    def refusals(self) -> list[str]:
        return [r.refused for r in self.reports if r.refused is not None]

    @property
    def rows_new(self) -> int:
        return sum(r.rows_new for r in self.accepted)


class IngestRefusedError(ShotFileError):
    """Raised by :func:`run_ingest` once every file was tried, when any was refused: the
    other files are stored (and the shot history refreshed) all the same. ``run`` has the
    report of every file; the message names each refused file and why."""

    def __init__(self, run: IngestRun) -> None:
        refusals = run.refusals
        count = f"{len(refusals)} file{'s' if len(refusals) != 1 else ''} refused"
        super().__init__(f"{count}: " + " | ".join(refusals))
        self.run = run


def run_ingest(
    settings: Settings,
    sources: Sequence[Path] = (),
    progress: Progress | None = None,
    *,
    file_progress: Callable[[Path], ProgressCallback] | None = None,
) -> IngestRun:
    """Ingest the given files, or everything waiting in the incoming folder.

    The one ingest behaviour of every caller (the command line, the pipeline, the
    orchestrator, the daily simulation): a refused file does not stop the others; each
    good file is stored and the shot history refreshed, then, when any file was refused,
    :class:`IngestRefusedError` names every refused file and its reason. Refused files of
    the incoming folder move to ``incoming/refused/`` with their reason beside them
    (:func:`~nba_mlops.data.ingest.ingest_incoming`); files given by path stay where they
    are. ``file_progress`` gives a per-file stage callback (the command line's bars).
    """
    if not sources:
        reports = ingest_incoming(settings, file_progress)
    else:
        reports = []
        for source in sources:
            if progress:
                progress(f"ingesting {source.name}")
            try:
                reports.append(
                    ingest_file(settings, source, file_progress(source) if file_progress else None)
                )
            except ShotFileError as error:
                version = ShotStore(settings).data_version()
                reports.append(
                    IngestReport(source=source, data_version=version, refused=str(error))
                )
    run = IngestRun(reports)
    if run.accepted:
        if progress:
            progress("updating the shot history and the online features")
        run.features = refresh_features(settings)
    if run.refusals:
        raise IngestRefusedError(run)
    return run


@dataclass
class PipelineReport:
    ingest: IngestRun
    training: TrainingReport
    batch: BatchReport | None
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        new = self.ingest.rows_new
        batch = f"; {self.batch.rows_scored:,} batch predictions" if self.batch else ""
        return (
            f"pipeline done in {self.seconds:.0f} s: {new:,} new shots ingested; "
            f"{self.training.summary()}{batch}"
        )


def run_pipeline(
    settings: Settings,
    sources: Sequence[Path] = (),
    *,
    score: Path | None = None,
    progress: Progress | None = None,
) -> PipelineReport:
    """Ingest, train, register, promote, then batch-score ``score`` (default: the first
    source) with the champion into ``<home>/predictions/``."""
    settings.ensure_dirs()
    started = time.perf_counter()
    timings: dict[str, float] = {}

    t = time.perf_counter()
    with stage(logger, "ingest"):
        ingested = run_ingest(settings, sources, progress)
    timings["ingest"] = time.perf_counter() - t

    t = time.perf_counter()
    with stage(logger, "train"):
        training = run_training(settings, progress)
    timings["train"] = time.perf_counter() - t

    batch = None
    to_score = score or (sources[0] if sources else None)
    if to_score is not None and training.champion_version is not None:
        t = time.perf_counter()
        with stage(logger, "predict-batch"):
            if progress:
                progress(f"scoring {to_score.name}")
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
            out = settings.predictions_dir / f"predictions-{stamp}.csv"
            batch = predict_batch(settings, to_score, out)
        timings["predict_batch"] = time.perf_counter() - t
    report = PipelineReport(ingested, training, batch, time.perf_counter() - started, timings)
    logger.info(report.summary())
    return report
