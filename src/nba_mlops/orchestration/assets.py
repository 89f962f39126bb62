"""The pipeline stages as Dagster software-defined assets, each a thin call of the
function the CLI uses (``nba_mlops.pipeline``, ``data``, ``inference``, ``monitoring``).

State lives where the CLI keeps it (the shot store, the MLflow registry, the reports
folder under ``NBA_MLOPS_HOME``), so an asset run and a command always see the same
thing; the only value handed from one asset to the next is the training summary.
Non-transient failures are raised as ``dagster.Failure(allow_retries=False)``; only
network and database hiccups go through the assets' ``RetryPolicy`` with back-off.
"""

import datetime as dt
import math
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from nba_mlops.config import Settings
from nba_mlops.data.store import ShotStore, file_sha256
from nba_mlops.orchestration.failures import retry_only_transient
from nba_mlops.orchestration.jobs import MONITORING_POOL, TRAINING_POOL
from nba_mlops.orchestration.resources import NbaMlopsResource
from nba_mlops.orchestration.settings import OrchestrationSettings
from nba_mlops.training.lock import TrainingInProgressError

GROUP = "shot_pipeline"
#: An asset that records metadata only; its state lives in the data directory.
Materialized = dg.MaterializeResult[Any]


def retry_policy(orchestration: OrchestrationSettings) -> dg.RetryPolicy:
    """Exponential back-off with jitter: (2**n - 1) x delay before retry n, +/- delay."""
    return dg.RetryPolicy(
        max_retries=orchestration.retry_max,
        delay=orchestration.retry_delay_s,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )


def _number(value: float | None) -> float | None:
    """Metadata cannot hold NaN meaningfully: an unknown figure is shown as empty."""
    return None if value is None or math.isnan(value) else float(value)


def latest_ingested_batch(settings: Settings) -> Path | None:
    """The newest shot file the store took rows from, where it is now.

    Ingestion moves an incoming file to ``incoming/processed/`` (with a time stamp when
    the name is taken), so the file is found by its recorded name and content hash.
    """
    processed = settings.incoming_dir / "processed"
    for record in reversed(ShotStore(settings).history()):
        if not record.get("rows_accepted") or not record.get("source"):
            continue
        source = Path(record["source"])
        candidates = [source, processed / source.name]
        if processed.is_dir():
            candidates += sorted(processed.glob(f"{source.stem}-*{source.suffix}"), reverse=True)
        sha = record.get("source_sha256")
        for candidate in candidates:
            if candidate.is_file() and (sha is None or file_sha256(candidate) == sha):
                return candidate
    return None


# --- what each asset does (plain functions; the assets below wrap them) --------------------
def deliver_next_batch(context: AssetExecutionContext, nba: NbaMlopsResource) -> Materialized:
    from nba_mlops.daily import deliver_and_score

    settings = nba.settings()
    source = nba.simulation_source_path()
    report, scorings = deliver_and_score(
        settings, source, nba.orchestration().simulation_days, progress=context.log.info
    )
    context.log.info(report.summary())
    for scoring in scorings:
        context.log.info(scoring.summary())
    scored = [s for s in scorings if not s.skipped]
    return dg.MaterializeResult(
        metadata={
            "summary": report.summary(),
            "path": str(report.path) if report.path else None,
            "rows": report.rows,
            "dates": (
                f"{report.dates[0]} to {report.dates[-1]} ({len(report.dates)} game dates)"
                if report.dates
                else None
            ),
            "remaining_rows": report.remaining_rows,
            "source": str(source),
            "predictions_stored": sum(s.stored for s in scorings),
            "scored_by": scored[-1].model_version if scored else None,
            "scoring": " | ".join(s.summary() for s in scorings) or None,
        }
    )


def ingest_waiting_files(context: AssetExecutionContext, nba: NbaMlopsResource) -> Materialized:
    from nba_mlops.data.ingest import summarise
    from nba_mlops.data.verify import verify_from_store
    from nba_mlops.pipeline import IngestRefusedError, IngestRun, run_ingest

    settings = nba.settings()
    # The ingest every caller shares: the good files are stored even when one is refused;
    # this step fails once the store is up to date (below), naming every refused file.
    run: IngestRun
    try:
        run = run_ingest(settings, progress=context.log.info)
    except IngestRefusedError as error:
        run = error.run
    # Catch up on predictions an earlier ingest could not verify (database down then,
    # this step retried since): cheap when nothing waits for a stored shot.
    caught_up = verify_from_store(settings)
    if caught_up is not None and caught_up.verified:
        context.log.info("caught up: %s", caught_up.summary())
    version = ShotStore(settings).data_version()
    accepted, refused = run.accepted, run.refusals
    line = summarise(accepted, version) if accepted else "nothing new to ingest"
    context.log.info(line)
    metadata: dict[str, Any] = {
        "summary": line,
        "files": len(accepted),
        "rows_new": sum(r.rows_new for r in accepted),
        "predictions_verified": sum(r.predictions_verified for r in accepted)
        + (caught_up.verified if caught_up is not None else 0),
        "rows_quarantined": sum(r.rows_quarantined for r in accepted),
        "data_version": version.hash,
        "rows": version.rows,
        "rows_by_season": dg.MetadataValue.json(version.rows_by_season),
    }
    if refused:
        raise dg.Failure(
            description=(
                f"{len(refused)} incoming file(s) refused and moved to "
                f"{settings.incoming_dir / 'refused'} with the reason beside them; the store "
                f"is at data version {version.short}: " + " | ".join(refused)
            ),
            metadata=metadata | {"refused": dg.MetadataValue.json(refused)},
            allow_retries=False,
        )
    return dg.MaterializeResult(metadata=metadata)


def describe_training_set(context: AssetExecutionContext, nba: NbaMlopsResource) -> Materialized:
    from nba_mlops.training.splits import time_split

    settings = nba.settings()
    store = ShotStore(settings)
    version = store.data_version()
    seasons = store.read(columns=["season_start_year"])
    if seasons.empty:
        raise LookupError(f"the shot store under {settings.shots_dir} is empty: ingest first")
    split = time_split(seasons)
    context.log.info("data %s: %s", version.short, split.describe())
    return dg.MaterializeResult(
        metadata={
            "data_version": version.hash,
            "rows": version.rows,
            "rows_by_season": dg.MetadataValue.json(version.rows_by_season),
            "split": split.describe(),
            "holdout_season": split.holdout_season,
            "validation_season": split.validation_season,
        }
    )


def train_candidates(
    context: AssetExecutionContext, nba: NbaMlopsResource
) -> dg.Output[dict[str, Any]]:
    from nba_mlops.pipeline import run_training

    settings = nba.settings()
    try:
        report = run_training(
            settings, progress=context.log.info, owner=f"dagster run {context.run_id}"
        )
    except TrainingInProgressError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    challenger = report.challenger
    summary: dict[str, Any] = {
        "data_version": report.data_version,
        "split": report.split,
        "candidates": {c.family: c.version for c in report.candidates},
        "challenger_version": challenger.version,
        "challenger_family": challenger.family,
        "challenger_holdout_log_loss": challenger.holdout["log_loss"],
        "champion_holdout_log_loss": report.decision.champion_log_loss,
        "baseline_log_loss": report.decision.baseline_log_loss,
        "promoted": report.decision.promote,
        "reason": report.decision.reason,
        "champion_version": report.champion_version,
    }
    context.log.info(report.summary())
    return dg.Output(
        summary,
        metadata={
            "summary": report.summary(),
            "data_version": report.data_version,
            "candidates": dg.MetadataValue.json(summary["candidates"]),
            "challenger": f"{challenger.family} v{challenger.version}",
            "holdout_log_loss": challenger.holdout["log_loss"],
            "holdout_roc_auc": challenger.holdout["roc_auc"],
            "holdout_accuracy": challenger.holdout["accuracy"],
            "seconds": report.seconds,
        },
    )


def record_decision(
    context: AssetExecutionContext, nba: NbaMlopsResource, training: dict[str, Any]
) -> Materialized:
    from nba_mlops.registry import Registry

    champion = Registry(nba.settings()).champion_version()
    if champion != training["champion_version"]:
        context.log.warning(
            "the champion alias moved since training decided: v%s now, training left v%s",
            champion,
            training["champion_version"],
        )
    verdict = "promoted" if training["promoted"] else "kept the champion"
    context.log.info(
        "%s (challenger v%s): %s", verdict, training["challenger_version"], training["reason"]
    )
    return dg.MaterializeResult(
        metadata={
            "promoted": bool(training["promoted"]),
            "reason": training["reason"],
            "challenger_version": training["challenger_version"],
            "champion_version": champion,
            "challenger_holdout_log_loss": training["challenger_holdout_log_loss"],
            "champion_holdout_log_loss": training["champion_holdout_log_loss"],
        }
    )


def score_latest_batch(context: AssetExecutionContext, nba: NbaMlopsResource) -> Materialized:
    from nba_mlops.inference.batch import predict_batch

    settings = nba.settings()
    source = latest_ingested_batch(settings)
    if source is None:
        raise LookupError("no ingested shot file to score: the store's log names none that exists")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    out = settings.predictions_dir / f"predictions-{source.name.split('.')[0]}-{stamp}.csv"
    report = predict_batch(settings, source, out)
    context.log.info(report.summary())
    return dg.MaterializeResult(
        metadata={
            "summary": report.summary(),
            "path": str(report.output),
            "source": str(source),
            "rows_scored": report.rows_scored,
            "rows_rejected": report.rows_rejected,
            "model_version": report.model_version,
        }
    )


def write_monitoring_report(context: AssetExecutionContext, nba: NbaMlopsResource) -> Materialized:
    from nba_mlops.monitoring.build import build_monitoring_report, monitoring_snapshot
    from nba_mlops.orchestration.signals import retrain_signal

    settings = nba.settings()
    orchestration = nba.orchestration()
    snapshot = monitoring_snapshot(settings, min_sample=orchestration.retrain_min_drift_sample)
    path = build_monitoring_report(settings, snapshot=snapshot)
    signal = retrain_signal(settings, orchestration, snapshot)
    context.log.info("%s: %s", path, snapshot.summary())
    quality = snapshot.champion_quality
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "summary": snapshot.summary(),
            "champion_version": snapshot.champion.version,
            "max_psi": _number(snapshot.drift.max_psi),
            "drift_status": snapshot.drift.status,
            "recent_requests": snapshot.drift.recent_size,
            "live_accuracy": _number(quality.accuracy) if quality else None,
            "verified": quality.count if quality else 0,
            "retrain_signal": signal.message(),
        }
    )


# --- the assets ------------------------------------------------------------------------------
def build_assets(orchestration: OrchestrationSettings) -> list[dg.AssetsDefinition]:
    """The seven stage assets, with the retry policy of ``orchestration``.

    Each body runs inside :func:`retry_only_transient`, so the retry policy only ever
    sees failures a retry may fix.
    """
    retry = retry_policy(orchestration)

    @dg.asset(group_name=GROUP, kinds={"csv"}, retry_policy=retry)
    def incoming_batch(context: AssetExecutionContext, nba: NbaMlopsResource) -> Materialized:
        """The next game days of shots (daily new data), scored by the champion through the
        serving path and stored as predictions before the file lands in the incoming
        folder, where its ingest verifies them."""
        with retry_only_transient("simulating the next batch"):
            return deliver_next_batch(context, nba)

    @dg.asset(group_name=GROUP, deps=[incoming_batch], kinds={"parquet"}, retry_policy=retry)
    def shot_store(context: AssetExecutionContext, nba: NbaMlopsResource) -> Materialized:
        """Every file waiting in the incoming folder, validated into the season store.

        Each file is ingested atomically; a refused file goes to ``incoming/refused/`` with
        its reason and fails this step (after the other files are stored).
        """
        with retry_only_transient("ingesting the incoming folder"):
            return ingest_waiting_files(context, nba)

    @dg.asset(group_name=GROUP, deps=[shot_store], retry_policy=retry)
    def training_set(context: AssetExecutionContext, nba: NbaMlopsResource) -> Materialized:
        """The data version training will read, and the time split it makes of it."""
        with retry_only_transient("describing the training set"):
            return describe_training_set(context, nba)

    @dg.asset(
        group_name=GROUP,
        deps=[training_set],
        kinds={"mlflow"},
        retry_policy=retry,
        pool=TRAINING_POOL,
    )
    def candidate_model(
        context: AssetExecutionContext, nba: NbaMlopsResource
    ) -> dg.Output[dict[str, Any]]:
        """Every configured family trained and registered as a candidate; the best one is
        promoted when it beats the champion on the holdout. Promotion is the last thing
        training does, so a failed run leaves the champion as it was. One training at a
        time: the step waits for the ``nba-mlops-training`` pool's one slot, and a training
        started outside Dagster meanwhile is refused by the training lock."""
        with retry_only_transient("training"):
            return train_candidates(context, nba)

    @dg.asset(group_name=GROUP, retry_policy=retry)
    def promotion_decision(
        context: AssetExecutionContext, nba: NbaMlopsResource, candidate_model: dict[str, Any]
    ) -> Materialized:
        """The champion/challenger decision of the training run, checked against the
        registry's ``champion`` alias."""
        with retry_only_transient("recording the promotion decision"):
            return record_decision(context, nba, candidate_model)

    @dg.asset(
        group_name=GROUP, deps=[shot_store, promotion_decision], kinds={"csv"}, retry_policy=retry
    )
    def batch_predictions(context: AssetExecutionContext, nba: NbaMlopsResource) -> Materialized:
        """The latest ingested shot file scored by the champion, in ``predictions/``."""
        with retry_only_transient("batch scoring"):
            return score_latest_batch(context, nba)

    @dg.asset(
        group_name=GROUP,
        deps=[promotion_decision],
        kinds={"html"},
        retry_policy=retry,
        pool=MONITORING_POOL,
    )
    def monitoring_report(context: AssetExecutionContext, nba: NbaMlopsResource) -> Materialized:
        """Drift of recent requests against the champion's training shots and live
        quality from verified predictions, as ``reports/monitoring-<date>.html``."""
        with retry_only_transient("building the monitoring report"):
            return write_monitoring_report(context, nba)

    return [
        incoming_batch,
        shot_store,
        training_set,
        candidate_model,
        promotion_decision,
        batch_predictions,
        monitoring_report,
    ]
