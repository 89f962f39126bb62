"""Child processes end with their parent, even when the parent is killed outright.

A parent stopped by SIGKILL, or by a SIGTERM it re-raises after its own shutdown (as
uvicorn does), runs no clean-up, so it cannot stop its children: they would live on,
adopted by init, holding memory and ports. Instead every long-lived child watches its
parent: once its parent id changes (the parent is gone and the child was adopted), it
ends itself. The serving process's metrics helper and every worker of a multi-worker
``serve`` do this. A helper that has nothing to finish (no ``graceful_s``) also ignores
Ctrl-C, which its parent handles for it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psutil

from nba_mlops.log import get_logger

logger = get_logger(__name__)

#: Set by ``serve`` to its own pid before it starts worker processes.
SUPERVISOR_ENV = "NBA_MLOPS_SUPERVISOR_PID"
#: How often the parent is checked; a child outlives its parent by about this much.
CHECK_INTERVAL_S = 0.5


def exit_with_parent(
    parent: int | None = None,
    *,
    graceful_s: float = 0.0,
    interval_s: float = CHECK_INTERVAL_S,
) -> bool:
    """End this process once its parent has gone; False when there is no parent to watch.

    ``parent`` is the pid the parent had when it started this process: a parent that
    died while this process was still starting is noticed too. With ``graceful_s`` > 0
    the process first sends itself SIGTERM, so that its own shutdown runs (a server
    finishes its requests and stores its predictions), and is ended ``graceful_s``
    seconds later if it still runs.
    """
    parent = os.getppid() if parent is None else parent
    if parent <= 1:
        return False
    if graceful_s <= 0 and threading.current_thread() is threading.main_thread():
        # A helper that ends with its parent leaves Ctrl-C to it: the terminal sends
        # SIGINT to every process of the foreground group, and a helper interrupted in
        # the middle of a wait would only print a traceback while the parent shuts down.
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    _end_when_gone(parent, lambda: os.getppid() != parent, graceful_s, interval_s)
    return True


def exit_with_process(pid: int, *, interval_s: float = CHECK_INTERVAL_S) -> None:
    """End this process once process ``pid`` (not necessarily its parent) has gone: a
    batch worker forked from a fork server follows the command that asked for it.

    Gone means ended, even while its own parent has not yet collected its exit status
    (a zombie keeps its pid until then, and a supervisor may take its time), or its pid
    now names another process."""
    try:
        watched = psutil.Process(pid)
    except psutil.Error:  # already gone
        _end_when_gone(pid, lambda: True, 0.0, interval_s)
        return
    _end_when_gone(pid, lambda: _ended(watched), 0.0, interval_s)


def _ended(process: psutil.Process) -> bool:
    """Whether ``process`` has ended: gone, a zombie, or its pid reused since."""
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # not ours to look at: it is still there
        return False


def _end_when_gone(
    pid: int, gone: Callable[[], bool], graceful_s: float, interval_s: float
) -> None:
    """A thread that ends this process once ``gone()`` says process ``pid`` is gone
    (with ``graceful_s`` > 0: SIGTERM first, the end ``graceful_s`` seconds later)."""

    def watch() -> None:
        while not gone():
            time.sleep(interval_s)
        logger.warning("process %d is gone: process %d ends", pid, os.getpid())
        if graceful_s > 0:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(graceful_s)
        os._exit(1)

    threading.Thread(target=watch, name=f"exit-with-{pid}", daemon=True).start()


def follow_supervisor(graceful_s: float = 20.0) -> bool:
    """In a worker process started by ``serve``: end with it. False in any other process."""
    supervisor = os.environ.get(SUPERVISOR_ENV, "")
    if not supervisor.isdigit() or int(supervisor) == os.getpid():
        return False  # not started by serve, or serve itself (one worker runs in it)
    return exit_with_parent(int(supervisor), graceful_s=graceful_s)


@contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Around the start of a helper process: it begins life ignoring SIGINT (an ignored
    signal stays ignored across exec, and Python keeps it so), so a Ctrl-C that the
    terminal sends to the whole process group while the helper is still importing reaches
    only its parent, which ends it. Main thread only; elsewhere it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
