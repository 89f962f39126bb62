"""Password hashing with Argon2id, at a cost chosen for a small host, and bounded per process.

The default cost is OWASP's first Argon2id choice: 19 MiB of memory, 2 passes, 1 lane
(``serving.password_hash_*``). On a 2-core host one hash then takes about 0.1 s of one
core and 19 MiB, where pwdlib's default (64 MiB, 3 passes, 4 lanes) took 0.3 s and
64 MiB; 4 lanes buy nothing on 2 cores. A stored hash names its own parameters, so hashes
made at another cost keep verifying after the setting changes.

Sign-up and login hash in :class:`PasswordHashing`: at most ``concurrency`` hashes run
at once per process, in threads of lower CPU priority, and at most ``queue`` more wait,
each for at most ``wait_s``; the rest are refused at once (:class:`HashingBusyError`,
answered 503 with ``Retry-After``), so a flood of sign-ups cannot take the memory or the
cores the predictions need.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import ParamSpec, TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from nba_mlops.config import Settings

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HashCost:
    """Argon2id parameters of new hashes."""

    memory_kib: int = 19_456
    time_cost: int = 2
    parallelism: int = 1


DEFAULT_COST = HashCost()


def hash_cost(settings: Settings) -> HashCost:
    """The cost of new hashes set by ``serving.password_hash_*``."""
    serving = settings.serving
    return HashCost(
        memory_kib=serving.password_hash_memory_kib,
        time_cost=serving.password_hash_time_cost,
        parallelism=serving.password_hash_parallelism,
    )


@lru_cache(maxsize=8)
def _hasher(cost: HashCost) -> PasswordHash:
    return PasswordHash(
        (
            Argon2Hasher(
                time_cost=cost.time_cost,
                memory_cost=cost.memory_kib,
                parallelism=cost.parallelism,
            ),
        )
    )


@lru_cache(maxsize=8)
def _dummy_hash(cost: HashCost) -> str:
    return _hasher(cost).hash("a password nobody has; only here to spend equal time")


def hash_password(password: str, cost: HashCost = DEFAULT_COST) -> str:
    return _hasher(cost).hash(password)


def verify_password(
    password: str, password_hash: str | None, cost: HashCost = DEFAULT_COST
) -> bool:
    """Check a password; with no stored hash, spend the same time and fail.

    Unknown usernames then take as long as wrong passwords, so timing does not reveal
    which usernames exist.
    """
    if password_hash is None:
        _hasher(cost).verify(password, _dummy_hash(cost))
        return False
    try:
        return _hasher(cost).verify(password, password_hash)
    except Exception:  # a corrupt or foreign hash is a failed login, not a crash
        return False


class HashingBusyError(Exception):
    """Too many passwords are being hashed in this process; retry after ``retry_after_s``."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"The server is busy checking passwords; please retry in {retry_after_s} s"
        )
        self.retry_after_s = retry_after_s


def _background_thread() -> None:
    """Hashing threads yield the CPU to the serving threads (Linux sets niceness per
    thread): under load, sign-ups wait, not predictions."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class PasswordHashing:
    """Runs password work in threads, a bounded number at a time (see the module docstring).

    The threads are its own, at a lower CPU priority than the threads serving requests.
    """

    def __init__(self, concurrency: int, queue: int, wait_s: float) -> None:
        self.concurrency = max(1, concurrency)
        self.queue = max(0, queue)
        self.wait_s = wait_s
        self._slots: asyncio.Semaphore | None = None
        self._waiting = 0
        self._running = 0
        self._threads = ThreadPoolExecutor(
            self.concurrency, thread_name_prefix="password-hash", initializer=_background_thread
        )

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    @property
    def busy(self) -> tuple[int, int]:
        """(running, waiting) right now."""
        return self._running, self._waiting

    def _retry_after(self) -> int:
        return max(1, round(self.wait_s))

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``work(*args)`` in a thread once a slot is free; HashingBusyError if none frees."""
        if self._slots is None:  # created on the serving loop, on first use
            self._slots = asyncio.Semaphore(self.concurrency)
        slots = self._slots
        if slots.locked():
            if self._waiting >= self.queue:
                raise HashingBusyError(self._retry_after())
            self._waiting += 1
            try:
                await asyncio.wait_for(slots.acquire(), timeout=self.wait_s)
            except TimeoutError:
                raise HashingBusyError(self._retry_after()) from None
            finally:
                self._waiting -= 1
        else:
            await slots.acquire()
        self._running += 1
        thread = asyncio.get_running_loop().run_in_executor(
            self._threads, partial(work, *args, **kwargs)
        )

        def finished(done: asyncio.Future[T]) -> None:
            # The slot is held until the thread ends, even when the caller went away.
            self._running -= 1
            slots.release()
            if not done.cancelled():
                done.exception()  # retrieved: a caller that left must not warn

        thread.add_done_callback(finished)
        return await asyncio.shield(thread)
