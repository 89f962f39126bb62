"""Settings for every part of nba-mlops, read from the environment.

All state lives under one data directory, ``NBA_MLOPS_HOME`` (default ``./var``), so two
instances never share state by accident and a test can point at a temporary one.
Nothing here touches the disk at import time: call :func:`get_settings`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class TrainingSettings(BaseModel):
    """How candidates are searched and judged."""

    seed: int = 42
    families: list[str] = Field(default_factory=lambda: ["logistic", "random_forest", "lightgbm"])
    # "full" searches each family's hyper-parameters (tuning_trials below); "quick" fits
    # every family once on its defaults: the demo on the bundled sample (`make up`,
    # `pipeline --sample`), where a search moves little and costs most of the run.
    profile: Literal["full", "quick"] = "full"
    # Trials of a family with a full search; a family with a token one gets a quarter
    # (training.models.Family.trials).
    tuning_trials: int = 8
    # Rows used for the hyper-parameter search (a sample of the fitting rows).
    tuning_rows: int = 300_000
    # Estimators are fitted on the most recent training rows up to this many (0: all):
    # the game changes (three-point era) and older seasons cost time more than they teach.
    # Measured on 2021-22 and 2022-23 (2026-11-30): 2.5M rows against 1.5M gained 0.0003
    # of log loss and 0.0004 of AUC. Every shot's context still comes from all of history.
    max_train_rows: int = 2_500_000
    # After the families are compared, the chosen one is fitted again, with the same
    # settings and number of trees, on the most recent rows of training and validation
    # together (up to ``max_train_rows``), and keeps the calibration learnt on validation.
    # The model then ends one season later, next to the holdout it is judged on, which
    # stays unseen. See docs/model.md (backtests) for what it gains.
    refit: bool = True
    # A challenger must beat the champion's holdout log loss by at least this much.
    promotion_margin: float = 0.001
    rare_action_min_count: int = 200


class ServingSettings(BaseModel):
    """How the API loads and serves the champion."""

    reload_interval_s: float = 10.0
    batch_max_size: int = 512
    # A micro-batch closes at batch_max_size shots, batch_max_wait_ms after its first
    # request, or when no request came for batch_idle_ms (see inference.microbatch).
    batch_max_wait_ms: float = 10.0
    batch_idle_ms: float = 5.0
    # A batch of at most this many shots is scored on the event loop, not in the thread.
    batch_inline_shots: int = 4
    # predict-batch: a file of at least this many rows (estimated) is scored by worker
    # processes with the compiled forest; a smaller one in the command's own process by
    # LightGBM's predictor (see inference.batch).
    large_file_rows: int = 1_000_000
    # predict-batch on a file of at least this many rows (estimated) starts compiling the
    # champion's forest in the background when it is not compiled yet (inference.compiled).
    compile_from_rows: int = 100_000
    token_ttl_minutes: int = 60
    min_password_length: int = 8
    # zxcvbn's 0-4 scale: 2 refuses common passwords, words and names alone, and short
    # patterns (about a million guesses or fewer); 0 checks only length and username.
    min_password_score: int = 2
    # Attempt limits per worker process in the notation of the ``limits`` library,
    # "N/period" joined by ";" (every window must have room); "" turns one off.
    # Sign-ups per client address:
    signup_limits: str = "5/minute;20/hour"
    # Logins per client address, right or wrong:
    login_limits: str = "30/minute;300/hour"
    # Failed logins per username and client address, with longer waits the longer it goes
    # on; the right password from another address is never held back by them.
    login_failure_limits: str = "5/minute;10/10 minutes;20/hour"
    # Argon2id cost of new password hashes: OWASP's 19 MiB, 2 passes, 1 lane (about 0.1 s
    # of one core); at most password_hash_concurrency hashes at once per process, and
    # password_hash_queue more waiting up to password_hash_wait_s, else 503.
    password_hash_memory_kib: int = 19_456
    password_hash_time_cost: int = 2
    password_hash_parallelism: int = 1
    password_hash_concurrency: int = 1
    password_hash_queue: int = 8
    password_hash_wait_s: float = 5.0
    # Addresses or networks (e.g. "172.28.0.1", "10.0.0.0/8") of reverse proxies whose
    # X-Forwarded-For header names the client; from any other peer the header is ignored.
    # Empty: no proxy is trusted, the peer address is the client.
    trusted_proxies: list[str] = Field(default_factory=list)
    # A bearer token that GET /metrics requires (or a file holding it, as Docker secrets
    # are mounted); with neither, /metrics is open.
    metrics_token: SecretStr | None = None
    metrics_token_file: Path | None = None
    cors_origins: list[str] = Field(default_factory=list)
    # Largest ``POST /predict/batch`` and request body accepted.
    max_batch_shots: int = 1000
    max_body_bytes: int = 4_000_000
    # A user's role and disabled flag are re-read from the database at most this often.
    user_cache_ttl_s: float = 5.0
    # Database pool per process; also the SQLite busy timeout and PostgreSQL connect timeout.
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_timeout_s: float = 5.0
    # Rows written per transaction by the prediction writer.
    write_max_batch: int = 2000
    # Gauges read from the database (counts, live quality, drift) are refreshed this often.
    refresh_interval_s: float = 20.0
    drift_window: int = 5000
    quality_window: int = 50_000
    # Game days with their own live quality gauges (the latest ones in the window).
    quality_days: int = 7
    # Timeout of one call to a separate prediction service (``PREDICTION_SERVICE_URL``).
    prediction_service_timeout_s: float = 5.0
    # Built web page; default: ``web/dist`` in the repository or the working directory.
    web_dist_dir: Path | None = None
    # Answer the plain success case of POST /predict before FastAPI routing (see
    # nba_mlops.api.fastpath); off: every request takes the regular route.
    fast_path: bool = True


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def check_redis_url(url: str) -> str:
    """``url`` when it names a Redis server, else a ValueError that says what would."""
    if not url.startswith(REDIS_SCHEMES):
        raise ValueError(
            f"REDIS_URL must start with {', '.join(REDIS_SCHEMES[:-1])} or "
            f"{REDIS_SCHEMES[-1]}, not {url!r}"
        )
    return url


class Settings(BaseSettings):
    """Top-level settings; nested sections use ``NBA_MLOPS_<SECTION>__<KEY>`` variables."""

    model_config = SettingsConfigDict(
        env_prefix="NBA_MLOPS_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Path("var")
    sample_path: Path | None = None
    model_name: str = "nba-shot-make"
    log_level: str = "INFO"
    # Standard variables shared with other tools keep their own names.
    mlflow_tracking_uri: str | None = Field(default=None, validation_alias="MLFLOW_TRACKING_URI")
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    jwt_secret: str | None = Field(default=None, validation_alias="NBA_MLOPS_JWT_SECRET")
    prediction_service_url: str | None = Field(
        default=None, validation_alias="PREDICTION_SERVICE_URL"
    )
    # Redis shared by every API replica (e.g. redis://cache:6379/0): attempt limits, and
    # news of accounts that changed, hold across replicas. Unset: each worker keeps its own.
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    # First administrator, created at API start-up when both are set.
    admin_username: str | None = None
    admin_password: SecretStr | None = None
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    serving: ServingSettings = Field(default_factory=ServingSettings)

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, url: str | None) -> str | None:
        # Refused here, before any command acts: ``users set-password`` would otherwise
        # change the password and only then fail to announce it.
        return check_redis_url(url) if url else None

    # --- paths under home -------------------------------------------------------------
    @property
    def store_dir(self) -> Path:
        return self.home / "store"

    @property
    def shots_dir(self) -> Path:
        return self.store_dir / "shots"

    @property
    def quarantine_dir(self) -> Path:
        return self.store_dir / "quarantine"

    @property
    def incoming_dir(self) -> Path:
        return self.home / "incoming"

    @property
    def predictions_dir(self) -> Path:
        return self.home / "predictions"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def mlflow_dir(self) -> Path:
        return self.home / "mlflow"

    @property
    def tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.mlflow_dir / 'mlflow.db').resolve()}"

    @property
    def artifact_location(self) -> str:
        return (self.mlflow_dir / "artifacts").resolve().as_uri()

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'app.db').resolve()}"

    def ensure_dirs(self) -> None:
        """Create the data directory tree (called by commands, never at import)."""
        for path in (
            self.shots_dir,
            self.quarantine_dir,
            self.incoming_dir,
            self.predictions_dir,
            self.reports_dir,
            self.log_dir,
            self.mlflow_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings(home=tmp_path)``."""
    return Settings()


def bundled_sample_path() -> Path:
    """The small real sample shipped inside the package (see ``sample/README.md``)."""
    return Path(__file__).resolve().parent / "sample" / "shots_sample.csv.gz"
