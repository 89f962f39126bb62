"""Attempt limits per key (client address, or username and address), on the ``limits`` library.

A :class:`Throttle` holds one or more moving windows written in the library's notation,
``"5/minute;10/10 minutes;20/hour"``: every window must have room for an attempt. Several
windows of growing length make the wait grow with persistence: the sixth failure in a
minute waits for that minute, the eleventh in ten minutes for those ten minutes.

Where the windows live:

- With a Redis URL (``REDIS_URL``), in Redis: every worker of every replica counts the
  same attempts, so a limit holds for the whole deployment, however many replicas share
  the load. Should Redis stop answering, each worker falls back to windows of its own
  (and says so in the log) rather than refusing every sign-up and login; it goes back to
  Redis on the next attempt that reaches it.
- Without one, in the worker's memory: with W worker processes a client can make at most
  W times the limit before every worker refuses it, which still bounds guessing and the
  CPU spent on hashing. The number of keys is capped so that a flood of distinct keys
  cannot grow a worker's memory without bound (Redis expires its own keys).
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from nba_mlops.config import check_redis_url
from nba_mlops.log import get_logger

logger = get_logger(__name__)

#: About 2 kB each at most (a key and its recorded attempts): tens of MB when full.
DEFAULT_MAX_KEYS = 20_000
#: Every key this product writes in a shared Redis starts with this.
REDIS_KEY_PREFIX = "nba-mlops:limits"
#: Seconds a shared-storage call may take before the worker uses its own windows.
REDIS_TIMEOUT_S = 0.5


def parse_limits(spec: str) -> list[RateLimitItem]:
    """``"5/minute;20/hour"`` -> its windows; an empty string means no limit."""
    return parse_many(spec) if spec.strip() else []


def redis_storage(url: str, *, key_prefix: str = REDIS_KEY_PREFIX) -> Storage:
    """The ``limits`` library's asyncio Redis storage (redis-py's client) for ``url``."""
    from limits.aio.storage import RedisStorage

    return RedisStorage(
        f"async+{check_redis_url(url)}",
        implementation="redispy",
        key_prefix=key_prefix,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        wrap_exceptions=True,
    )


class Throttle:
    """Moving-window limits on attempts per key (see the module docstring)."""

    def __init__(
        self,
        spec: str,
        *,
        redis_url: str | None = None,
        key_prefix: str = REDIS_KEY_PREFIX,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        self.spec = spec
        self.windows = parse_limits(spec)
        self._memory = MemoryStorage()
        self._own = MovingWindowRateLimiter(self._memory)
        self._shared = (
            MovingWindowRateLimiter(redis_storage(redis_url, key_prefix=key_prefix))
            if redis_url and self.windows
            else None
        )
        self._max_keys = max_keys
        self._warned_at = 0.0

    @property
    def shared(self) -> bool:
        """Whether the windows live in Redis (shared by every worker and replica)."""
        return self._shared is not None

    async def wait(self, *key: str) -> float | None:
        """Seconds until the key may try again, or None when it may now (records nothing)."""
        try:
            return await self._wait(self._limiter(), *key)
        except StorageError as error:
            self._fell_back(error)
            return await self._wait(self._own, *key)

    async def hit(self, *key: str) -> float | None:
        """Record one attempt when every window has room; else the seconds to wait.

        A refused attempt is not recorded, so waiting ``Retry-After`` is always enough
        (save one that lost a race for the last room, which may be in a shorter window).
        """
        try:
            return await self._hit(self._limiter(), *key)
        except StorageError as error:
            self._fell_back(error)
            return await self._hit(self._own, *key)

    async def clear(self, *key: str) -> None:
        """Forget the key's attempts (e.g. after a successful login)."""
        for window in self.windows:
            await self._own.clear(window, *key)
        if self._shared is not None:
            try:
                for window in self.windows:
                    await self._shared.clear(window, *key)
            except StorageError as error:
                self._fell_back(error)

    def keys(self) -> int:
        """Keys held in this worker's own windows."""
        return len(self._memory.events)

    # --- internals ------------------------------------------------------------------------
    def _limiter(self) -> MovingWindowRateLimiter:
        return self._shared if self._shared is not None else self._own

    async def _wait(self, limiter: MovingWindowRateLimiter, *key: str) -> float | None:
        # One read per window (a round trip with Redis): a window without room left is
        # exactly one the library's own test() refuses, and its stats say until when.
        now = time.time()
        waits = []
        for window in self.windows:
            stats = await limiter.get_window_stats(window, *key)
            if stats.remaining < 1:
                waits.append(stats.reset_time - now)
        return max(max(waits), 0.001) if waits else None

    async def _hit(self, limiter: MovingWindowRateLimiter, *key: str) -> float | None:
        wait = await self._wait(limiter, *key)
        if wait is not None:
            return wait
        if limiter is self._own:
            await self._make_room()
        for window in self.windows:
            if not await limiter.hit(window, *key):
                # Concurrent attempts (other requests, workers, replicas) took the last
                # room between the look and the hit: this one is refused too.
                return await self._wait(limiter, *key) or 0.001
        return None

    def _fell_back(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at > 60 or self._warned_at == 0.0:
            self._warned_at = now
            logger.warning(
                "attempt limits (%s): Redis did not answer (%s); this worker counts "
                "attempts on its own until it does",
                self.spec,
                error,
            )

    async def _make_room(self) -> None:
        if self.keys() < self._max_keys * max(len(self.windows), 1):
            return
        # Only a flood of distinct keys gets here; forgetting every window is the price
        # of a bounded memory, and the flood's own keys go with them.
        logger.warning("attempt limits (%s) hold %d keys: forgetting all", self.spec, self.keys())
        await self._memory.reset()
