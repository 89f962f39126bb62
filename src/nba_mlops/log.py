"""Logging for every stage: to the console (Rich) and to a rotating file under the home."""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from logging.handlers import RotatingFileHandler

from rich.console import Console
from rich.logging import RichHandler

from nba_mlops.config import Settings

LOGGER_NAME = "nba_mlops"
_FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(settings: Settings, *, console: bool = True) -> logging.Logger:
    """Send the package's log records to the console and ``<home>/logs/nba-mlops.log``.

    Safe to call more than once: handlers are replaced, not stacked.
    """
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(settings.log_level.upper())
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    file_handler = RotatingFileHandler(
        settings.log_dir / "nba-mlops.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(_FILE_FORMAT))
    logger.addHandler(file_handler)
    if console:
        # Standard error: standard output is for results (tables, --json, summaries).
        console_handler = RichHandler(
            console=Console(stderr=True), show_path=False, rich_tracebacks=False, markup=False
        )
        logger.addHandler(console_handler)
    logger.propagate = False
    quiet_mlflow()
    return logger


def quiet_mlflow() -> None:
    """Keep MLflow's warnings, drop its chatter: its INFO lines (creating its tables,
    exporting the uv environment of every logged model) and its artifact download bars
    repeat what our own log says. Either variable set by the user wins."""
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # In case MLflow was imported already (it reads the level when it is imported).
    logging.getLogger("mlflow").setLevel(os.environ["MLFLOW_LOGGING_LEVEL"].upper())


def dump_stacks_on_sigusr1() -> None:
    """Make ``kill -USR1 <pid>`` print every thread's stack to standard error (into the
    log of whatever started the process); the process goes on running. A no-op where the
    signal does not exist (Windows)."""
    with contextlib.suppress(AttributeError, ValueError, RuntimeError):
        faulthandler.register(signal.SIGUSR1, all_threads=True)


def get_logger(name: str) -> logging.Logger:
    """A child of the package logger, e.g. ``get_logger(__name__)``."""
    return logging.getLogger(name if name.startswith(LOGGER_NAME) else f"{LOGGER_NAME}.{name}")


@contextmanager
def stage(logger: logging.Logger, name: str) -> Iterator[None]:
    """Log the start, the end and the wall time of a pipeline stage."""
    started = time.perf_counter()
    logger.info("%s: started", name)
    try:
        yield
    except Exception:
        logger.exception("%s: failed after %.1f s", name, time.perf_counter() - started)
        raise
    logger.info("%s: finished in %.1f s", name, time.perf_counter() - started)
