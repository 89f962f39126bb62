"""Gather what monitoring compares and write the HTML report: ``nba-mlops monitor report``.

Reads the latest prediction requests and verified outcomes from the application
database, the champion's training reference (``reference/shots_reference.parquet`` on its
run) from the registry, and hands them to the pure functions of ``drift``, ``quality`` and
``report``. The orchestrator's monitoring asset and its retrain trigger read the same
:class:`MonitoringSnapshot`, so the report and the trigger never disagree.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import inspect

from nba_mlops.config import Settings
from nba_mlops.db.models import Prediction
from nba_mlops.db.session import Database, database_exists
from nba_mlops.monitoring.drift import DEFAULT_MIN_SAMPLE, DriftReport, compute_drift
from nba_mlops.monitoring.quality import (
    LiveQuality,
    PredictionDistribution,
    live_quality_by_version,
    prediction_distribution,
)
from nba_mlops.monitoring.report import render_drift_report
from nba_mlops.monitoring.windows import (
    RECENT_COLUMNS,
    VERIFIED_COLUMNS,
    recent_shots,
    recently_verified,
)

REFERENCE_ARTIFACT = "reference/shots_reference.parquet"
CHAMPION_ALIAS = "champion"


@dataclass(frozen=True)
class ChampionInfo:
    """The model version the ``champion`` alias points at, and what it scored on the holdout."""

    version: int
    run_id: str | None
    holdout_accuracy: float | None


@dataclass(frozen=True)
class MonitoringSnapshot:
    """Everything the report shows, computed once."""

    champion: ChampionInfo
    reference: pd.DataFrame  # the champion's training reference, canonical columns
    recent: pd.DataFrame  # raw shot fields of the latest requests, newest first
    predictions: pd.DataFrame  # model_version, probability, label of the same requests
    verified: pd.DataFrame  # model_version, verified_outcome, probability, verified_at
    drift: DriftReport
    quality: dict[str, LiveQuality]
    distribution: dict[str, PredictionDistribution]

    @property
    def champion_quality(self) -> LiveQuality | None:
        """Live quality of the version being served, when it has verified predictions."""
        return self.quality.get(str(self.champion.version))

    def summary(self) -> str:
        psi = "n/a" if math.isnan(self.drift.max_psi) else f"{self.drift.max_psi:.3f}"
        quality = self.champion_quality
        live = (
            f"live accuracy {quality.accuracy:.3f} on {quality.count:,} verified"
            if quality is not None
            else "no verified predictions yet"
        )
        return (
            f"champion v{self.champion.version}: drift {self.drift.status} (max PSI {psi}, "
            f"{self.drift.recent_size:,} recent vs {self.drift.reference_size:,} reference "
            f"shots); {live}"
        )


def _client(settings: Settings) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def load_champion(settings: Settings) -> ChampionInfo:
    """The champion's version, run and holdout accuracy; ``LookupError`` before the first."""
    from mlflow.exceptions import MlflowException

    client = _client(settings)
    try:
        found = client.get_model_version_by_alias(settings.model_name, CHAMPION_ALIAS)
    except MlflowException as exc:
        raise LookupError(
            f"model {settings.model_name!r} has no champion yet: monitoring compares requests "
            "with the champion's training shots, so train one first (`nba-mlops train`)"
        ) from exc
    accuracy = None
    if found.run_id:
        value = client.get_run(found.run_id).data.metrics.get("holdout_accuracy")
        accuracy = float(value) if value is not None else None
    return ChampionInfo(int(found.version), found.run_id or None, accuracy)


def load_reference(settings: Settings, champion: ChampionInfo) -> pd.DataFrame:
    """The champion run's drift reference (canonical shot columns)."""
    import mlflow.artifacts

    if champion.run_id is None:
        raise LookupError(f"champion v{champion.version} has no run, hence no drift reference")
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            run_id=champion.run_id,
            artifact_path=REFERENCE_ARTIFACT,
            dst_path=tmp,
            tracking_uri=settings.tracking_uri,
        )
        return pd.read_parquet(local)


def load_predictions(
    settings: Settings, *, drift_window: int | None = None, quality_window: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The latest requests (``drift_window``, newest first: model_version, probability,
    label, input) and the latest verified predictions (``quality_window``); the same
    windows the API's metrics refresher uses."""
    serving = settings.serving
    drift_window = drift_window or serving.drift_window
    quality_window = quality_window or serving.quality_window
    empty = pd.DataFrame(columns=RECENT_COLUMNS), pd.DataFrame(columns=VERIFIED_COLUMNS)
    if not database_exists(settings):
        return empty
    db = Database(settings)
    try:
        if not inspect(db.engine).has_table(Prediction.__tablename__):
            return empty
        with db.session() as session:
            return recent_shots(session, drift_window), recently_verified(session, quality_window)
    finally:
        db.dispose()


def monitoring_snapshot(
    settings: Settings, *, min_sample: int = DEFAULT_MIN_SAMPLE
) -> MonitoringSnapshot:
    """Drift of recent requests against the champion's reference, and live quality."""
    champion = load_champion(settings)
    reference = load_reference(settings, champion)
    predictions, verified = load_predictions(settings)
    recent = pd.DataFrame.from_records(
        [row for row in predictions["input"] if isinstance(row, dict)]
    )
    return MonitoringSnapshot(
        champion=champion,
        reference=reference,
        recent=recent,
        predictions=predictions.drop(columns=["input"]),
        verified=verified,
        drift=compute_drift(reference, recent, min_sample=min_sample),
        quality=live_quality_by_version(verified) if len(verified) else {},
        distribution=prediction_distribution(predictions) if len(predictions) else {},
    )


def default_report_path(settings: Settings, day: dt.date | None = None) -> Path:
    """``<home>/reports/monitoring-<YYYY-MM-DD>.html`` (UTC date)."""
    day = day or dt.datetime.now(dt.UTC).date()
    return settings.reports_dir / f"monitoring-{day.isoformat()}.html"


def build_monitoring_report(
    settings: Settings,
    out: Path | None = None,
    *,
    snapshot: MonitoringSnapshot | None = None,
) -> Path:
    """Write the monitoring report (default ``<home>/reports/monitoring-<date>.html``)."""
    snapshot = snapshot or monitoring_snapshot(settings)
    target = out or default_report_path(settings)
    return render_drift_report(
        snapshot.reference,
        snapshot.recent,
        snapshot.quality,
        snapshot.distribution,
        target,
        min_sample=snapshot.drift.min_sample,
        title=f"nba-mlops monitoring report: {settings.model_name} v{snapshot.champion.version}",
    )
