"""Background refresh of the gauges read from the database and the registry.

Every ``serving.refresh_interval_s`` one process (the holder of a lock file under the
home; the others skip) counts users and predictions, computes live quality and the
prediction distribution per model version (``nba_mlops.monitoring.quality``), compares
recent request inputs with the champion's training reference (``...monitoring.drift``),
and reads the newest model version's creation time. All of it runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO, Any

import pandas as pd
from sqlalchemy import func, select

from nba_mlops.config import Settings
from nba_mlops.db.models import Prediction, User
from nba_mlops.db.session import Database
from nba_mlops.log import get_logger
from nba_mlops.monitoring import metrics

logger = get_logger(__name__)

REFERENCE_ARTIFACT = "reference/shots_reference.parquet"
_LOCK_FILE = ".metrics-refresh.lock"


class MetricsRefresher:
    """Sets the database and drift gauges on a timer (see module docstring)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._task: asyncio.Task[None] | None = None
        self._lock_handle: IO[str] | None = None
        self._reference: tuple[str, pd.DataFrame] | None = None  # (run id, frame)
        self._recent_inputs = pd.DataFrame()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    async def _loop(self) -> None:
        while True:
            try:
                if self._is_leader():
                    await asyncio.to_thread(self.refresh_once)
            except Exception:  # keep refreshing whatever one round does
                logger.exception("metrics refresh failed")
            await asyncio.sleep(self.settings.serving.refresh_interval_s)

    def _is_leader(self) -> bool:
        """One refresher per server: the process holding the lock file does the work."""
        if metrics.multiprocess_dir() is None:
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

    def refresh_once(self) -> None:
        """One round (blocking)."""
        if not self._refresh_database():
            return
        self._refresh_registry()

    # --- database -----------------------------------------------------------------------------
    def _refresh_database(self) -> bool:
        serving = self.settings.serving
        try:
            with self.db.session() as session:
                users = session.scalar(select(func.count()).select_from(User)) or 0
                stored = session.scalar(select(func.count()).select_from(Prediction)) or 0
                verified = (
                    session.scalar(
                        select(func.count())
                        .select_from(Prediction)
                        .where(Prediction.verified_outcome.is_not(None))
                    )
                    or 0
                )
                verified_rows = session.execute(
                    select(
                        Prediction.model_version,
                        Prediction.verified_outcome,
                        Prediction.probability,
                        Prediction.verified_at,
                    )
                    .where(Prediction.verified_outcome.is_not(None))
                    .order_by(Prediction.id.desc())
                    .limit(serving.quality_window)
                ).all()
                recent_rows = session.execute(
                    select(
                        Prediction.model_version,
                        Prediction.probability,
                        Prediction.label,
                        Prediction.input,
                    )
                    .order_by(Prediction.id.desc())
                    .limit(serving.drift_window)
                ).all()
        except Exception as exc:
            logger.warning("database unavailable for the metrics refresh: %s", exc)
            metrics.DATABASE_UP.set(0)
            return False
        metrics.DATABASE_UP.set(1)
        metrics.USERS.set(users)
        metrics.PREDICTIONS_STORED.set(stored)
        metrics.PREDICTIONS_VERIFIED.set(verified)
        self._set_quality(
            pd.DataFrame(
                verified_rows,
                columns=["model_version", "verified_outcome", "probability", "verified_at"],
            )
        )
        recent = pd.DataFrame(
            recent_rows, columns=["model_version", "probability", "label", "input"]
        )
        self._set_distribution(recent)
        self._recent_inputs = pd.DataFrame.from_records(
            [row for row in recent["input"] if isinstance(row, dict)]
        )
        return True

    def _set_quality(self, frame: pd.DataFrame) -> None:
        from nba_mlops.monitoring.quality import live_quality_by_version

        if frame.empty:
            return
        for version, quality in live_quality_by_version(frame).items():
            metrics.LIVE_ACCURACY.labels(model_version=version).set(quality.accuracy)
            metrics.LIVE_LOG_LOSS.labels(model_version=version).set(quality.log_loss)
            metrics.LIVE_ECE.labels(model_version=version).set(quality.ece)
            metrics.LIVE_VERIFIED_COUNT.labels(model_version=version).set(quality.count)

    def _set_distribution(self, frame: pd.DataFrame) -> None:
        from nba_mlops.monitoring.quality import prediction_distribution

        if frame.empty:
            return
        for version, shape in prediction_distribution(frame).items():
            metrics.PREDICTION_MEAN_PROBABILITY.labels(model_version=version).set(
                shape.mean_probability
            )
            metrics.PREDICTION_POSITIVE_SHARE.labels(model_version=version).set(
                shape.positive_share
            )

    # --- registry: drift reference and training time --------------------------------------
    def _refresh_registry(self) -> None:
        try:
            client = _client(self.settings)
            self._set_last_training(client)
            reference = self._champion_reference(client)
        except Exception as exc:
            logger.warning("model registry unavailable for the metrics refresh: %s", exc)
            return
        recent = self._recent_inputs
        metrics.DRIFT_SAMPLE_SIZE.set(len(recent))
        if reference is None:
            return
        from nba_mlops.monitoring.drift import compute_drift

        report = compute_drift(reference, recent)
        for feature, psi in report.psi_by_feature().items():
            metrics.FEATURE_DRIFT_PSI.labels(feature=feature).set(psi)

    def _set_last_training(self, client: Any) -> None:
        versions = client.search_model_versions(
            f"name = '{self.settings.model_name}'",
            max_results=1,
            order_by=["creation_timestamp DESC"],
        )
        if versions:
            metrics.LAST_TRAINING.set(versions[0].creation_timestamp / 1000.0)

    def _champion_reference(self, client: Any) -> pd.DataFrame | None:
        from mlflow.exceptions import MlflowException

        try:
            champion = client.get_model_version_by_alias(self.settings.model_name, "champion")
        except MlflowException:
            return None
        run_id = champion.run_id
        if not run_id:
            return None
        if self._reference is not None and self._reference[0] == run_id:
            return self._reference[1]
        try:
            path = client.download_artifacts(run_id, REFERENCE_ARTIFACT)
        except (MlflowException, OSError) as exc:
            logger.warning("champion run %s has no drift reference: %s", run_id, exc)
            return None
        frame = pd.read_parquet(path)
        self._reference = (run_id, frame)
        return frame


def _client(settings: Settings) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
