"""One training at a time, in this process, across processes and, on PostgreSQL, across hosts.

Every training takes it, inside the stage itself (``pipeline.run_training``): a run
started by hand (``nba-mlops train``, ``pipeline``), a scheduled Dagster run, a step on a
Celery worker of another host, a test. Dagster also declares the limit itself (the run
queue admits one run tagged ``nba-mlops/training``, and the ``candidate_model`` step runs
in the ``nba-mlops-training`` pool of one; see ``orchestration/instance.py``), but only
among its own runs; this lock is what keeps a hand-run training from racing a scheduled
one over the champion alias.

When the application database is PostgreSQL (``DATABASE_URL``) the lock is an advisory
lock there, shared by every host of the deployment; otherwise it is a file lock on
``<home>/.training.lock`` (``nba_mlops.db.locks``). Either way the refusal names the holder.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from nba_mlops.config import Settings
from nba_mlops.db.locks import LockHeldError, single_flight

LOCK_FILE = ".training.lock"
LOCK_NAME = "training"


class TrainingInProgressError(RuntimeError):
    """Another training run holds the lock: this one is refused, not queued."""


def training_lock_path(settings: Settings) -> Path:
    return settings.home / LOCK_FILE


@contextlib.contextmanager
def training_lock(settings: Settings, owner: str = "") -> Iterator[None]:
    """Hold the training lock for the block, or raise :class:`TrainingInProgressError`."""
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(
                single_flight(settings, LOCK_NAME, training_lock_path(settings), owner)
            )
        except LockHeldError as busy:
            raise TrainingInProgressError(
                f"another training run is in progress ({busy.holder}); this one was refused "
                f"rather than queued: retry once it has finished ({busy.where})"
            ) from None
        yield
