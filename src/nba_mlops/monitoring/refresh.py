"""Background refresh of the gauges read from the database and the registry.

Every ``serving.refresh_interval_s`` one process of a server (the holder of a lock file
under the home; the others skip) counts users and predictions, computes live quality from
the data's outcomes per model version and per day, the same from the counted person
labels apart, and the prediction distribution (``nba_mlops.monitoring.quality``),
compares recent request inputs with the champion's training reference
(``nba_mlops.monitoring.drift``), reads the champion's holdout figures (the alert
thresholds are derived from them) and the newest model version's creation time.

The computation takes a few hundred milliseconds of pandas work: it runs in a helper
process (:func:`collect_snapshot`), so the serving process's event loop never waits for
it, and only the resulting numbers come back to set the gauges. This module imports the
Prometheus collectors lazily so that the helper process never creates metric files.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pandas as pd
from sqlalchemy import func, select

from nba_mlops.aio import cancel_and_wait
from nba_mlops.config import Settings
from nba_mlops.db.models import Prediction, User
from nba_mlops.db.session import Database
from nba_mlops.db.verification import OUTCOME, with_outcomes
from nba_mlops.lifeline import interrupts_ignored
from nba_mlops.log import get_logger
from nba_mlops.monitoring.quality import LiveQuality
from nba_mlops.monitoring.windows import recent_shots, recently_labelled, recently_verified

if TYPE_CHECKING:
    from nba_mlops.registry import Registry

logger = get_logger(__name__)

_LOCK_FILE = ".metrics-refresh.lock"


@dataclass
class Snapshot:
    """Everything one refresh sets, as plain numbers (crosses the process boundary)."""

    database_up: bool = False
    users: int = 0
    stored: int = 0
    verified: int = 0
    # live quality from the data's outcomes: per model version, per (version, day)
    quality: dict[str, LiveQuality] = field(default_factory=dict)
    daily: dict[tuple[str, str], LiveQuality] = field(default_factory=dict)
    # from the labels of the counted roles, on predictions the data has not verified yet
    labels: dict[str, LiveQuality] = field(default_factory=dict)
    # the champion's holdout figures: model version -> {metric: value}
    holdout: dict[str, dict[str, float]] = field(default_factory=dict)
    # model version -> (mean probability, positive share)
    distribution: dict[str, tuple[float, float]] = field(default_factory=dict)
    psi: dict[str, float] = field(default_factory=dict)
    drift_sample: int | None = None
    last_training_s: float | None = None


class SnapshotCollector:
    """Reads the database and the registry; keeps its engine and the reference frame."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self._db = db
        self._reference: tuple[str, pd.DataFrame] | None = None  # (run id, frame)
        self._holdout: tuple[str, dict[str, float]] | None = None  # (run id, figures)

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.settings)
        return self._db

    def collect(self) -> Snapshot:
        snapshot = Snapshot()
        recent = self._from_database(snapshot)
        if snapshot.database_up:
            self._from_registry(snapshot, recent)
        return snapshot

    def _from_database(self, snapshot: Snapshot) -> pd.DataFrame:
        from nba_mlops.monitoring.quality import (
            live_quality_by_day,
            live_quality_by_version,
            prediction_distribution,
        )

        serving = self.settings.serving
        try:
            with self.db.session() as session:
                snapshot.users = session.scalar(select(func.count()).select_from(User)) or 0
                snapshot.stored = session.scalar(select(func.count()).select_from(Prediction)) or 0
                # with an outcome: from the data (its shot's) or from a person
                snapshot.verified = (
                    session.scalar(
                        with_outcomes(select(func.count()).select_from(Prediction)).where(
                            OUTCOME.is_not(None)
                        )
                    )
                    or 0
                )
                verified = recently_verified(session, serving.quality_window)
                labelled = recently_labelled(session, serving.quality_window)
                recent = recent_shots(session, serving.drift_window)
        except Exception as exc:
            logger.warning("database unavailable for the metrics refresh: %s", exc)
            return pd.DataFrame()
        snapshot.database_up = True
        if not verified.empty:
            snapshot.quality = live_quality_by_version(verified)
            snapshot.daily = live_quality_by_day(verified, serving.quality_days)
        if not labelled.empty:
            snapshot.labels = live_quality_by_version(labelled)
        if not recent.empty:
            for version, shape in prediction_distribution(recent).items():
                snapshot.distribution[version] = (shape.mean_probability, shape.positive_share)
        return pd.DataFrame.from_records([r for r in recent["input"] if isinstance(r, dict)])

    def _from_registry(self, snapshot: Snapshot, recent: pd.DataFrame) -> None:
        from nba_mlops.monitoring.drift import compute_drift
        from nba_mlops.registry import Registry

        try:
            registry = Registry(self.settings)
            newest = registry.newest_version()
            if newest is not None and newest.created_at is not None:
                snapshot.last_training_s = newest.created_at.timestamp()
            reference = self._champion_reference(registry, snapshot)
        except Exception as exc:
            logger.warning("model registry unavailable for the metrics refresh: %s", exc)
            return
        snapshot.drift_sample = len(recent)
        if reference is not None:
            snapshot.psi = compute_drift(reference, recent).psi_by_feature()

    def _champion_reference(self, registry: Registry, snapshot: Snapshot) -> pd.DataFrame | None:
        """The champion's drift reference; its holdout figures go into ``snapshot``."""
        from nba_mlops.monitoring.build import holdout_figures
        from nba_mlops.registry import NoChampionError

        try:
            champion = registry.champion()
        except NoChampionError:
            return None
        run_id = champion.run_id
        if not run_id:
            return None
        if self._holdout is None or self._holdout[0] != run_id:
            self._holdout = (run_id, holdout_figures(registry.run(run_id).metrics))
        snapshot.holdout[str(champion.version)] = self._holdout[1]
        if self._reference is not None and self._reference[0] == run_id:
            return self._reference[1]
        try:
            frame = registry.reference(champion)
        except (LookupError, OSError) as exc:
            logger.warning("champion run %s has no drift reference: %s", run_id, exc)
            return None
        self._reference = (run_id, frame)
        return frame


def apply_snapshot(snapshot: Snapshot) -> None:
    """Set the gauges (in the serving process)."""
    from nba_mlops import metrics

    metrics.DATABASE_UP.set(1 if snapshot.database_up else 0)
    if not snapshot.database_up:
        return
    metrics.USERS.set(snapshot.users)
    metrics.PREDICTIONS_STORED.set(snapshot.stored)
    metrics.PREDICTIONS_VERIFIED.set(snapshot.verified)
    for version, q in snapshot.quality.items():
        metrics.LIVE_ACCURACY.labels(model_version=version).set(q.accuracy)
        metrics.LIVE_LOG_LOSS.labels(model_version=version).set(q.log_loss)
        metrics.LIVE_ECE.labels(model_version=version).set(q.ece)
        metrics.LIVE_VERIFIED_COUNT.labels(model_version=version).set(q.count)
        metrics.LIVE_MAKE_RATE.labels(model_version=version).set(q.make_rate)
        metrics.LIVE_CONSTANT_LOG_LOSS.labels(model_version=version).set(q.constant_log_loss)
        metrics.LIVE_CONSTANT_ACCURACY.labels(model_version=version).set(q.constant_accuracy)
    metrics.set_daily_quality(
        {key: (q.accuracy, q.log_loss, q.ece, q.count) for key, q in snapshot.daily.items()}
    )
    for version, q in snapshot.labels.items():
        metrics.LABEL_ACCURACY.labels(model_version=version).set(q.accuracy)
        metrics.LABEL_LOG_LOSS.labels(model_version=version).set(q.log_loss)
        metrics.LABEL_COUNT.labels(model_version=version).set(q.count)
    for version, figures in snapshot.holdout.items():
        for name, gauge in metrics.HOLDOUT_GAUGES.items():
            if name in figures:
                gauge.labels(model_version=version).set(figures[name])
    for version, (mean_probability, positive_share) in snapshot.distribution.items():
        metrics.PREDICTION_MEAN_PROBABILITY.labels(model_version=version).set(mean_probability)
        metrics.PREDICTION_POSITIVE_SHARE.labels(model_version=version).set(positive_share)
    for feature, psi in snapshot.psi.items():
        metrics.FEATURE_DRIFT_PSI.labels(feature=feature).set(psi)
    if snapshot.drift_sample is not None:
        metrics.DRIFT_SAMPLE_SIZE.set(snapshot.drift_sample)
    if snapshot.last_training_s is not None:
        metrics.LAST_TRAINING.set(snapshot.last_training_s)


def _start_helper(parent: int) -> None:
    """In the helper process: yield the CPU to the serving processes (gauges can wait,
    requests not), and end with the serving process ``parent``, however that ends."""
    from nba_mlops.lifeline import exit_with_parent

    with contextlib.suppress(OSError):
        os.nice(10)
    exit_with_parent(parent)


# The helper process keeps one collector (engine, reference frame) between refreshes.
_collector: SnapshotCollector | None = None


def collect_snapshot(settings: Settings) -> Snapshot:
    """Entry point of the helper process."""
    global _collector
    if _collector is None or _collector.settings != settings:
        _collector = SnapshotCollector(settings)
    return _collector.collect()


class MetricsRefresher:
    """Sets the database and drift gauges on a timer (see the module docstring)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self._local = SnapshotCollector(settings, db)
        self._pool: ProcessPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock_handle: IO[str] | None = None

    def refresh_once(self) -> Snapshot:
        """One round in this process (blocking); for tests and the command line."""
        snapshot = self._local.collect()
        apply_snapshot(snapshot)
        return snapshot

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="refresh")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        if self._pool is not None:
            helpers = list((self._pool._processes or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            for helper in helpers:  # a round in progress is of no use any more
                helper.terminate()
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    async def _loop(self) -> None:
        while True:
            try:
                if self._is_leader():
                    if self._pool is None:
                        self._pool = ProcessPoolExecutor(
                            max_workers=1,
                            mp_context=multiprocessing.get_context("spawn"),
                            initializer=_start_helper,
                            initargs=(os.getpid(),),
                        )
                    loop = asyncio.get_running_loop()
                    with interrupts_ignored():  # the helper is started by this submission
                        round_done = loop.run_in_executor(
                            self._pool, collect_snapshot, self.settings
                        )
                    apply_snapshot(await round_done)
            except asyncio.CancelledError:
                raise
            except Exception:  # keep refreshing whatever one round does
                logger.exception("metrics refresh failed")
                if self._pool is not None:  # a broken helper is replaced next round
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = None
            await asyncio.sleep(self.settings.serving.refresh_interval_s)

    def _is_leader(self) -> bool:
        """One refresher per server: the process holding the lock file does the work."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR") is None:
            return True
        if self._lock_handle is not None:
            return True
        path = Path(self.settings.home) / _LOCK_FILE
        handle = path.open("a", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_handle = handle
        return True
