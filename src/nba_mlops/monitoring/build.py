"""Gather what monitoring compares and write the HTML report: ``nba-mlops monitor report``.

Reads the latest prediction requests and verified outcomes from the application
database, the champion's training reference (its run's drift reference) from the
registry, and hands them to the pure functions of ``drift``, ``quality`` and ``report``.
The orchestrator's monitoring asset and its retrain trigger read the same
:class:`MonitoringSnapshot`, so the report and the trigger never disagree.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import inspect

from nba_mlops.config import Settings
from nba_mlops.db import migrate
from nba_mlops.db.models import Prediction
from nba_mlops.db.session import Database, database_exists
from nba_mlops.monitoring.drift import DEFAULT_MIN_SAMPLE, DriftReport, compute_drift
from nba_mlops.monitoring.quality import (
    LiveQuality,
    PredictionDistribution,
    live_quality_by_day,
    live_quality_by_version,
    prediction_distribution,
)
from nba_mlops.monitoring.report import render_drift_report
from nba_mlops.monitoring.windows import (
    RECENT_COLUMNS,
    VERIFIED_COLUMNS,
    recent_shots,
    recently_labelled,
    recently_verified,
)
from nba_mlops.registry import ModelVersion, NoChampionError, Registry


@dataclass(frozen=True)
class ChampionInfo:
    """The model version the ``champion`` alias points at, and what it scored on the holdout."""

    model: ModelVersion
    #: Every holdout figure of the version's run (``holdout_figures``).
    holdout: dict[str, float] = field(default_factory=dict)

    @property
    def version(self) -> int:
        return self.model.version

    @property
    def run_id(self) -> str | None:
        return self.model.run_id

    @property
    def holdout_accuracy(self) -> float | None:
        return self.holdout.get("accuracy")


#: Run metric -> name of the holdout figure (the gauges ``nba_model_holdout_<name>``).
HOLDOUT_METRICS = {
    "holdout_log_loss": "log_loss",
    "holdout_accuracy": "accuracy",
    "holdout_ece": "ece",
    "holdout_brier": "brier",
    "holdout_roc_auc": "roc_auc",
    "baseline_constant_log_loss": "constant_log_loss",
    "baseline_constant_accuracy": "constant_accuracy",
}


def holdout_figures(run_metrics: dict[str, float]) -> dict[str, float]:
    """A model version's holdout figures from its run's metrics (those it has)."""
    return {
        name: float(run_metrics[metric])
        for metric, name in HOLDOUT_METRICS.items()
        if run_metrics.get(metric) is not None and math.isfinite(float(run_metrics[metric]))
    }


@dataclass(frozen=True)
class MonitoringSnapshot:
    """Everything the report shows, computed once."""

    champion: ChampionInfo
    reference: pd.DataFrame  # the champion's training reference, canonical columns
    recent: pd.DataFrame  # raw shot fields of the latest requests, newest first
    predictions: pd.DataFrame  # model_version, probability, label of the same requests
    verified: pd.DataFrame  # outcomes from the data (``windows.VERIFIED_COLUMNS``)
    drift: DriftReport
    quality: dict[str, LiveQuality]
    distribution: dict[str, PredictionDistribution]
    daily: dict[tuple[str, str], LiveQuality] = field(default_factory=dict)
    #: person labels of the counted roles, on predictions the data has not verified yet
    labels: dict[str, LiveQuality] = field(default_factory=dict)
    #: holdout figures of the champion and of the versions with live figures
    holdout: dict[str, dict[str, float]] = field(default_factory=dict)
    #: why the drift reference is missing (a champion registered without one), if it is
    reference_problem: str | None = None

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


def champion_info(settings: Settings, registry: Registry | None = None) -> ChampionInfo:
    """The champion's version, run and holdout figures; :class:`NoChampionError` (a
    ``LookupError``) before the first."""
    registry = registry or Registry(settings)
    try:
        found = registry.champion()
    except NoChampionError as exc:
        raise NoChampionError(
            f"model {settings.model_name!r} has no champion yet: monitoring compares requests "
            "with the champion's training shots, so train one first (`nba-mlops train`)"
        ) from exc
    figures = holdout_figures(registry.run(found.run_id).metrics) if found.run_id else {}
    return ChampionInfo(found, figures)


def load_holdout(registry: Registry, versions: list[str]) -> dict[str, dict[str, float]]:
    """The holdout figures of these model versions (those whose run logged them)."""
    found: dict[str, dict[str, float]] = {}
    for version in versions:
        try:
            run_id = registry.version(version).run_id
            if run_id:
                found[version] = holdout_figures(registry.run(run_id).metrics)
        except LookupError:
            continue
    return found


def load_predictions(
    settings: Settings, *, drift_window: int | None = None, quality_window: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The latest requests (``drift_window``, newest first: model_version, probability,
    label, input), the latest predictions verified from the data and, apart, the latest
    labelled by the counted roles (``quality_window`` each); the same windows the API's
    metrics refresher uses."""
    serving = settings.serving
    drift_window = drift_window or serving.drift_window
    quality_window = quality_window or serving.quality_window
    empty = pd.DataFrame(columns=VERIFIED_COLUMNS)
    if not database_exists(settings):
        return pd.DataFrame(columns=RECENT_COLUMNS), empty, empty
    db = Database(settings)
    try:
        if not inspect(db.engine).has_table(Prediction.__tablename__):
            return pd.DataFrame(columns=RECENT_COLUMNS), empty, empty
        migrate.upgrade(settings)  # an older database: the outcome columns come with 0005
        with db.session() as session:
            return (
                recent_shots(session, drift_window),
                recently_verified(session, quality_window),
                recently_labelled(session, quality_window),
            )
    finally:
        db.dispose()


def monitoring_snapshot(
    settings: Settings, *, min_sample: int = DEFAULT_MIN_SAMPLE
) -> MonitoringSnapshot:
    """Drift of recent requests against the champion's reference, and live quality."""
    registry = Registry(settings)
    champion = champion_info(settings, registry)
    problem = None
    try:
        reference = registry.reference(champion.model)
    except (LookupError, OSError) as exc:
        # a model promoted by hand may have no reference: live quality still counts
        problem = f"champion v{champion.version} has no drift reference ({exc})"
        reference = pd.DataFrame()
    predictions, verified, labelled = load_predictions(settings)
    recent = pd.DataFrame.from_records(
        [row for row in predictions["input"] if isinstance(row, dict)]
    )
    quality = live_quality_by_version(verified) if len(verified) else {}
    labels = live_quality_by_version(labelled) if len(labelled) else {}
    others = sorted((set(quality) | set(labels)) - {str(champion.version)}, key=_version_order)
    others = others[-10:]
    holdout = load_holdout(registry, others) | {str(champion.version): champion.holdout}
    return MonitoringSnapshot(
        champion=champion,
        reference=reference,
        recent=recent,
        predictions=predictions.drop(columns=["input"]),
        verified=verified,
        drift=compute_drift(reference, recent, min_sample=min_sample),
        quality=quality,
        distribution=prediction_distribution(predictions) if len(predictions) else {},
        daily=(
            live_quality_by_day(verified, settings.serving.quality_days) if len(verified) else {}
        ),
        labels=labels,
        holdout=holdout,
        reference_problem=problem,
    )


def _version_order(version: str) -> tuple[int, str]:
    return (len(version), version)  # "10" after "9"


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
        daily=snapshot.daily,
        labels=snapshot.labels,
        holdout=snapshot.holdout,
        champion=str(snapshot.champion.version),
        note=snapshot.reference_problem,
    )
