"""Jobs: which assets run together, and the tag that keeps retraining to one run at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

#: Runs carrying this tag share the run queue limit of one (see ``instance.py``).
TRAINING_TAG = "nba-mlops/training"
TRIGGER_TAG = "nba-mlops/trigger"
#: Concurrency pools of one slot each (``concurrency.pools`` in the instance config): the
#: training step and the monitoring report step of any run, whichever job or executor runs
#: it, wait for the pool's slot instead of overlapping.
TRAINING_POOL = "nba-mlops-training"
MONITORING_POOL = "nba-mlops-monitoring"
ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


@dataclass(frozen=True)
class Jobs:
    new_data: Any
    ingest: Any
    retrain: Any
    monitoring: Any
    full_pipeline: Any

    def all(self) -> Sequence[Any]:
        return [self.new_data, self.ingest, self.retrain, self.monitoring, self.full_pipeline]


def build_jobs() -> Jobs:
    training = {TRAINING_TAG: "true"}
    return Jobs(
        new_data=dg.define_asset_job(
            "new_data_job",
            selection=["incoming_batch"],
            description="Deliver the next game days of shots to the incoming folder.",
        ),
        ingest=dg.define_asset_job(
            "ingest_job",
            selection=["shot_store", "batch_predictions"],
            description="Ingest what waits in the incoming folder, then score it with the "
            "champion.",
        ),
        retrain=dg.define_asset_job(
            "retrain_job",
            selection=[
                "training_set",
                "candidate_model",
                "promotion_decision",
                "batch_predictions",
                "monitoring_report",
            ],
            tags=training,
            description="Train candidates on the store, promote the best if it beats the "
            "champion, rescore the latest batch, refresh the monitoring report.",
        ),
        monitoring=dg.define_asset_job(
            "monitoring_job",
            selection=["monitoring_report"],
            description="Write the drift and live-quality report.",
        ),
        full_pipeline=dg.define_asset_job(
            "full_pipeline_job",
            selection=dg.AssetSelection.groups("shot_pipeline"),
            tags=training,
            description="Every stage in order: new data, ingest, train, promote, score, report.",
        ),
    )


def active_training_runs(instance: dg.DagsterInstance) -> list[str]:
    """Ids of training runs queued or in progress on this instance."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(tags={TRAINING_TAG: "true"}, statuses=ACTIVE_STATUSES), limit=5
    )
    return [record.dagster_run.run_id for record in records]
