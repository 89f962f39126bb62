"""When and why the orchestrator runs things: schedules, sensor thresholds, retries.

Read from the environment like :class:`nba_mlops.config.Settings` (same ``NBA_MLOPS_``
prefix), e.g. ``NBA_MLOPS_RETRAIN_CRON="30 5 * * *"``. The defaults are the original
project's GitHub Actions times: new data at 04:00 UTC, retraining at 05:00 UTC.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nba_mlops.config import bundled_sample_path


class OrchestrationSettings(BaseSettings):
    """Schedules, sensors, retrain triggers and retries of the Dagster definitions."""

    model_config = SettingsConfigDict(env_prefix="NBA_MLOPS_", extra="ignore")

    # --- daily new data -----------------------------------------------------------------
    #: The large shot file the daily "new data" step carves game days from.
    simulation_source: Path = Field(default_factory=bundled_sample_path)
    simulation_days: int = Field(default=1, ge=1)
    simulation_cron: str = "0 4 * * *"
    # --- retraining and monitoring --------------------------------------------------------
    retrain_cron: str = "0 5 * * *"
    monitoring_cron: str = "30 * * * *"
    schedule_timezone: str = "UTC"
    #: Schedules and sensors start switched on; false leaves them off until enabled in the UI.
    automation_enabled: bool = True
    # --- sensors ---------------------------------------------------------------------------
    incoming_sensor_interval_s: int = Field(default=30, ge=1)
    #: A file modified more recently than this may still be being copied: wait a tick.
    incoming_settle_s: float = Field(default=5.0, ge=0)
    retrain_sensor_interval_s: int = Field(default=600, ge=1)
    #: Retrain when the largest feature PSI exceeds this (the FeatureDrift alert's threshold).
    retrain_drift_psi: float = Field(default=0.25, gt=0)
    #: Retrain when the champion's live accuracy is this far below its holdout accuracy.
    retrain_accuracy_drop: float = Field(default=0.05, gt=0)
    #: Verified predictions the champion needs before its live accuracy counts.
    retrain_min_verified: int = Field(default=200, ge=1)
    #: Recent requests (and reference shots) needed before drift counts.
    retrain_min_drift_sample: int = Field(default=200, ge=1)
    # --- retries on transient failures -----------------------------------------------------
    retry_max: int = Field(default=3, ge=0)
    retry_delay_s: float = Field(default=30.0, ge=0)
    # --- where a run's steps execute (orchestration/executors.py) ---------------------------
    #: ``in_process``: every step in the run's own process (the local default).
    #: ``celery``: each step is a task on the broker, run by whichever Celery worker
    #: (``nba-mlops orchestrate worker``, on any host) takes it.
    dagster_executor: Literal["in_process", "celery"] = "in_process"
    #: The Celery broker (RabbitMQ), e.g. ``amqp://user:password@rabbitmq:5672//``. Read
    #: from ``NBA_MLOPS_CELERY_BROKER_URL`` when a run starts, never stored in the run.
    celery_broker_url: str | None = None

    @field_validator("simulation_source", mode="before")
    @classmethod
    def _default_when_empty(cls, value: object) -> object:
        # Compose passes an unset variable as an empty string: that means "the default".
        return bundled_sample_path() if value in (None, "") else value
