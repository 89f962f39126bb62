"""How a command is stopped: Ctrl-C and SIGTERM become ``Stopped`` in the main thread.

``Stopped`` is raised wherever the main thread happens to be, which is what lets a long
command stop at once. A few steps must not be cut in two: starting a worker process
of a pool, say, where a stop between starting the process and recording it leaves a
worker the pool does not know of, which takes the pool's last "stop" message meant for
another, so the pool waits for ever on that other one at shutdown. Inside
``stops_held()`` a stop waits until the block ends, then is raised as usual.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Stopped(KeyboardInterrupt):
    """A stop signal arrived (Ctrl-C, SIGTERM): raised wherever the main thread is, like
    Ctrl-C's KeyboardInterrupt, so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def how(self) -> str:
        return "Ctrl-C" if self.signum == signal.SIGINT else signal.Signals(self.signum).name


class _Held:
    """How deep the main thread is in ``stops_held`` blocks, and the stop that waits."""

    depth = 0
    waiting: Stopped | None = None


@contextmanager
def stops_held() -> Iterator[None]:
    """A stop that arrives inside the block is raised when the block ends (main thread,
    under ``StopSignals``; elsewhere the block changes nothing)."""
    _Held.depth += 1
    try:
        yield
    finally:
        _Held.depth -= 1
        if _Held.depth == 0 and _Held.waiting is not None:
            stopped, _Held.waiting = _Held.waiting, None
            raise stopped


class StopSignals:
    """Inside ``with StopSignals() as stops:``, Ctrl-C (SIGINT) and SIGTERM raise
    ``Stopped`` and are remembered in ``stops.received``.

    uvicorn catches both while it serves, shuts down, then re-raises the signal with the
    handler it found: without this one that is the default action for SIGTERM, which ends
    the process without Python's exit handlers (multiprocessing then reports leaked
    semaphores) and with 143 as its status (``make: *** Error 143``)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: Stopped | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: object) -> None:
        self.received = Stopped(signum)
        if _Held.depth:
            _Held.waiting = _Held.waiting or self.received
            return
        raise self.received

    def __enter__(self) -> StopSignals:
        self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
