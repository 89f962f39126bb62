"""The daily loop predicts before it learns: score the day's shots, then ingest them.

Each simulated day (``nba-mlops simulate``, the orchestrator's ``incoming_batch``):

1. the next game day of the source file is carved into a hidden staging folder
   (``incoming/.staging/``), where no ingest looks;
2. its shots are scored through the serving path, as the API scores a request: the same
   request schema (``RawShot``), the champion loaded as the API loads it and the online
   feature table of the last ingest (the day's own games are not ingested yet, so the
   game so far is unknown, as it is for a caller during the game). The answers are stored
   as predictions with the shots' NBA ids, ``origin = 'daily'`` and ``run`` = the file's
   name. The file's outcome column plays no part in it;
3. the file moves into the incoming folder, and its ingest (at once from the command
   line, by the incoming-file sensor in the orchestrator) records the real outcomes on
   those predictions (``nba_mlops.db.verification``).

A day is scored once: a file whose run already has predictions is not scored again, and
a file left in staging by a failure is scored and released by the next call.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import select

from nba_mlops.config import Settings
from nba_mlops.data.ingest import IngestReport, iter_shot_chunks
from nba_mlops.data.simulate import SimulateReport, simulate_next_batch
from nba_mlops.db.models import ORIGIN_DAILY, PURPOSE_SHOT, Prediction, ShotOutcome
from nba_mlops.db.verification import SHOT_OF_PREDICTION
from nba_mlops.log import get_logger
from nba_mlops.monitoring.quality import LiveQuality, live_quality

logger = get_logger(__name__)
Progress = Callable[[str], None]

STAGING = ".staging"
#: Shots scored per model call.
SCORE_CHUNK = 5_000


@dataclass
class DailyScoring:
    """What scoring one day's file did."""

    path: Path
    run: str
    rows: int = 0
    stored: int = 0
    refused: list[str] = field(default_factory=list)  # shots the request schema refused
    model_version: str | None = None
    seconds: float = 0.0
    skipped: str | None = None  # why nothing was scored

    def summary(self) -> str:
        if self.skipped:
            return f"{self.path.name}: not scored ({self.skipped})"
        refused = f", {len(self.refused):,} refused by the request schema" if self.refused else ""
        return (
            f"{self.path.name}: {self.stored:,} of {self.rows:,} shots scored by champion "
            f"v{self.model_version} and stored before their outcomes{refused} "
            f"({self.seconds:.1f} s)"
        )


def _value(value: Any) -> Any:
    """A frame value as JSON-able request input (None when missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def shot_requests(shots: pd.DataFrame) -> tuple[list[dict[str, Any]], list[str]]:
    """Request records of canonical shots, validated by the API's request schema (the
    stored input is what the API would store); and why the refused ones were refused."""
    from nba_mlops.api.schemas.shots import RawShot

    records: list[dict[str, Any]] = []
    refused: list[str] = []
    # The request's fields (``RawShot``'s, the API's) that the file has.
    columns = [c for c in RawShot.model_fields if c in shots.columns]
    for values in shots.loc[:, columns].itertuples(index=False, name=None):
        fields = {c: _value(v) for c, v in zip(columns, values, strict=True)}
        fields = {c: v for c, v in fields.items() if v is not None}
        if "is_home" in fields:
            fields["is_home"] = bool(fields["is_home"])
        try:
            records.append(RawShot.model_validate(fields).to_record())
        except ValidationError as exc:
            where = f"game {fields.get('game_id')} event {fields.get('game_event_id')}"
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            refused.append(f"{where}: {problems}")
    return records, refused


def _already_scored(db: Any, run: str) -> bool:
    with db.session() as session:
        found = session.scalar(
            select(Prediction.id)
            .where(Prediction.origin == ORIGIN_DAILY, Prediction.run == run)
            .limit(1)
        )
    return found is not None


def score_day(settings: Settings, path: Path) -> DailyScoring:
    """Score a day's shot file through the serving path and store the answers as the
    daily run's predictions (see the module docstring)."""
    from nba_mlops.db.migrate import migrated_database
    from nba_mlops.db.writer import insert_rows
    from nba_mlops.features.online import OnlineFeatures
    from nba_mlops.inference.predictor import DECISION_THRESHOLD, load_model_version
    from nba_mlops.registry import Registry

    started = time.perf_counter()
    report = DailyScoring(path=path, run=path.name)
    version = Registry(settings).champion_version()
    if version is None:
        report.skipped = "no champion yet: the day is ingested without predictions"
        logger.info(report.summary())
        return report
    with migrated_database(settings) as db:
        if _already_scored(db, report.run):
            report.skipped = "this day's predictions are stored already"
            logger.info(report.summary())
            return report
        model = load_model_version(settings, version)
        online = OnlineFeatures.load(db)
        report.model_version = model.version
        rows: list[dict[str, Any]] = []
        for chunk in iter_shot_chunks(path, require_label=False):
            report.rows += len(chunk.raw)
            records, refused = shot_requests(chunk.shots)
            report.refused.extend(refused)
            report.refused.extend(
                f"row {r}: {reason}" for r, reason in zip(
                    chunk.rejected["row"], chunk.rejected["reason"], strict=True
                )
            )  # fmt: skip
            for start in range(0, len(records), SCORE_CHUNK):
                batch = records[start : start + SCORE_CHUNK]
                scoring = time.perf_counter()
                probabilities = model.score(batch, online)
                latency_ms = (time.perf_counter() - scoring) * 1000.0
                now = dt.datetime.now(dt.UTC)
                rows.extend(
                    {
                        "user_id": None,
                        "input": record,
                        "probability": round(float(p), 6),
                        "label": int(p >= DECISION_THRESHOLD),
                        "model_version": model.version,
                        "latency_ms": latency_ms,
                        "created_at": now,
                        "purpose": PURPOSE_SHOT,
                        "origin": ORIGIN_DAILY,
                        "run": report.run,
                    }
                    for record, p in zip(batch, probabilities, strict=True)
                )
        with db.engine.begin() as connection:
            report.stored = len(insert_rows(connection, rows))
    report.seconds = time.perf_counter() - started
    if report.refused:
        logger.warning(
            "%s: %d shots not scored, e.g. %s", path.name, len(report.refused), report.refused[0]
        )
    logger.info(report.summary())
    return report


def _release(settings: Settings, staged: Path) -> Path:
    """Move a scored day from staging into the incoming folder (a free name there)."""
    from nba_mlops.data.simulate import free_name

    target = free_name(settings.incoming_dir, staged.name.removesuffix(".csv"))
    staged.replace(target)
    return target


def deliver_and_score(
    settings: Settings, source: Path, days: int = 1, progress: Progress | None = None
) -> tuple[SimulateReport, list[DailyScoring]]:
    """Carve the next ``days`` game days of ``source`` into staging, score them, then
    release the file into the incoming folder. A file an earlier call left in staging is
    scored (unless it was) and released first."""
    staging = settings.incoming_dir / STAGING
    scorings: list[DailyScoring] = []
    for left in sorted(staging.glob("*.csv")) if staging.is_dir() else []:
        if progress:
            progress(f"scoring {left.name}, left in staging")
        scorings.append(score_day(settings, left))
        _release(settings, left)
    if progress:
        progress(f"carving the next game day from {source.name}")
    delivery = simulate_next_batch(settings, source, days, folder=staging)
    if delivery.path is not None:
        if progress:
            progress(f"scoring {delivery.path.name} before its outcomes are ingested")
        scoring = score_day(settings, delivery.path)
        delivery.path = _release(settings, delivery.path)
        scoring.path = delivery.path
        scorings.append(scoring)
    return delivery, scorings


def run_quality(settings: Settings, run: str) -> LiveQuality | None:
    """Live quality of one daily run's predictions from the data's outcomes (None when
    none has one yet)."""
    from nba_mlops.db.session import Database

    db = Database(settings)
    try:
        with db.session() as session:
            found = session.execute(
                select(ShotOutcome.made, Prediction.probability, Prediction.model_version)
                .join(ShotOutcome, SHOT_OF_PREDICTION)
                .where(Prediction.origin == ORIGIN_DAILY, Prediction.run == run)
            ).all()
    finally:
        db.dispose()
    if not found:
        return None
    outcomes, probabilities, versions = zip(*found, strict=True)
    return live_quality(outcomes, probabilities, model_version=str(versions[0]))


@dataclass
class SimulatedDay:
    """One turn of the loop: delivered, scored, ingested, and how the scores fared."""

    delivery: SimulateReport
    scorings: list[DailyScoring]
    ingest: list[IngestReport]
    quality: LiveQuality | None

    def summary(self) -> str:
        if self.delivery.nothing_left and not self.scorings:
            return self.delivery.summary()
        parts = [self.delivery.summary()] if not self.delivery.nothing_left else []
        parts += [s.summary() for s in self.scorings]
        verified = sum(r.predictions_verified for r in self.ingest)
        if self.ingest:
            parts.append(f"ingested: {verified:,} predictions verified from the data")
        q = self.quality
        if q is not None:
            parts.append(
                f"live on the day: log loss {q.log_loss:.4f} (constant {q.constant_log_loss:.4f}), "
                f"accuracy {q.accuracy:.3f} (constant {q.constant_accuracy:.3f}), "
                f"ECE {q.ece:.3f} over {q.count:,} shots"
            )
        return "; ".join(parts)


def simulate_day(
    settings: Settings, source: Path, *, ingest: bool = True, progress: Progress | None = None
) -> SimulatedDay:
    """One simulated day: the next game day of ``source`` scored, then (with ``ingest``)
    ingested from the incoming folder, which verifies its predictions."""
    from nba_mlops.pipeline import run_ingest

    delivery, scorings = deliver_and_score(settings, source, 1, progress)
    reports = run_ingest(settings, progress=progress).reports if ingest and scorings else []
    quality = None
    if reports and scorings and scorings[-1].stored:
        quality = run_quality(settings, scorings[-1].run)
    return SimulatedDay(delivery, scorings, reports, quality)
