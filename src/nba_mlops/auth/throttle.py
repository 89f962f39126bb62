"""Attempt limits per key (client address, or username and address), on the ``limits`` library.

A :class:`Throttle` holds one or more moving windows written in the library's notation,
``"5/minute;10/10 minutes;20/hour"``: every window must have room for an attempt. Several
windows of growing length make the wait grow with persistence: the sixth failure in a
minute waits for that minute, the eleventh in ten minutes for those ten minutes.

Each server process keeps its own windows: with W worker processes a client can make at
most W times the limit before every worker refuses it, which still bounds guessing and
the CPU spent on hashing. The number of keys is capped so that a flood of distinct keys
cannot grow a worker's memory without bound.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from nba_mlops.log import get_logger

logger = get_logger(__name__)

#: About 2 kB each at most (a key and its recorded attempts): tens of MB when full.
DEFAULT_MAX_KEYS = 20_000


def parse_limits(spec: str) -> list[RateLimitItem]:
    """``"5/minute;20/hour"`` -> its windows; an empty string means no limit."""
    return parse_many(spec) if spec.strip() else []


class Throttle:
    """Moving-window limits on attempts per key (see the module docstring)."""

    def __init__(self, spec: str, *, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.spec = spec
        self.windows = parse_limits(spec)
        self._storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._max_keys = max_keys

    def wait(self, *key: str) -> float | None:
        """Seconds until the key may try again, or None when it may now (records nothing)."""
        now = time.time()
        waits = [
            self._limiter.get_window_stats(window, *key).reset_time - now
            for window in self.windows
            if not self._limiter.test(window, *key)
        ]
        return max(max(waits), 0.001) if waits else None

    def hit(self, *key: str) -> float | None:
        """Record one attempt when every window has room; else the seconds to wait.

        A refused attempt is not recorded, so waiting ``Retry-After`` is always enough.
        """
        wait = self.wait(*key)
        if wait is None:
            self._make_room()
            for window in self.windows:
                self._limiter.hit(window, *key)
        return wait

    def clear(self, *key: str) -> None:
        """Forget the key's attempts (e.g. after a successful login)."""
        for window in self.windows:
            self._limiter.clear(window, *key)

    def keys(self) -> int:
        return len(self._storage.events)

    def _make_room(self) -> None:
        if self.keys() < self._max_keys * max(len(self.windows), 1):
            return
        # Only a flood of distinct keys gets here; forgetting every window is the price
        # of a bounded memory, and the flood's own keys go with them.
        logger.warning("attempt limits (%s) hold %d keys: forgetting all", self.spec, self.keys())
        self._storage.reset()
