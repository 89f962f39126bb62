"""A small in-process sliding-window rate limiter (for login attempts).

Each server process keeps its own windows: with W worker processes a client can make at
most W times the limit before every worker refuses it, which still bounds password
guessing and the CPU spent on hashing.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class SlidingWindowLimiter:
    """At most ``limit`` hits per key in any ``window_s`` seconds."""

    def __init__(self, limit: int, window_s: float = 60.0, *, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}
        self._max_keys = max_keys
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> float | None:
        """Record one attempt; return the seconds to wait when over the limit, else None.

        A refused attempt is not recorded, so waiting ``Retry-After`` is always enough.
        """
        now = time.monotonic() if now is None else now
        cutoff = now - self.window_s
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self._max_keys:
                    self._forget_idle(cutoff)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= cutoff:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(hits[0] + self.window_s - now, 0.001)
            hits.append(now)
            return None

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def _forget_idle(self, cutoff: float) -> None:
        idle = [key for key, hits in self._hits.items() if not hits or hits[-1] <= cutoff]
        for key in idle:
            del self._hits[key]
        if len(self._hits) >= self._max_keys:  # all busy: drop the oldest half
            for key in list(self._hits)[: self._max_keys // 2]:
                del self._hits[key]
