"""One training at a time per data directory, in this process and across processes.

Every training takes it, inside the stage itself (``pipeline.run_training``): a run
started by hand (``nba-mlops train``, ``pipeline``), a scheduled Dagster run, a test.
Dagster's run queue also starts at most one retraining run at a time (the
``nba-mlops/training`` tag limit in the generated ``dagster.yaml``), but only among its
own runs; this lock is what keeps a hand-run training from racing a scheduled one over
the champion alias.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from nba_mlops.config import Settings

LOCK_FILE = ".training.lock"


class TrainingInProgressError(RuntimeError):
    """Another training run holds the lock: this one is refused, not queued."""


def training_lock_path(settings: Settings) -> Path:
    return settings.home / LOCK_FILE


@contextlib.contextmanager
def training_lock(settings: Settings, owner: str = "") -> Iterator[None]:
    """Hold the training lock for the block, or raise :class:`TrainingInProgressError`.

    ``flock`` locks belong to an open file, so a second attempt is refused even from
    another thread of the same process; the kernel drops the lock if the holder dies.
    """
    path = training_lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = path.read_text(encoding="utf-8").strip() or "unknown holder"
            raise TrainingInProgressError(
                f"another training run is in progress ({holder}); this one was refused "
                f"rather than queued: retry once it has finished (lock: {path})"
            ) from None
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}{f', {owner}' if owner else ''}, since {since}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()
