"""The login rate limiter."""

from __future__ import annotations

import pytest

from nba_mlops.auth.ratelimit import SlidingWindowLimiter


def test_allows_the_limit_then_says_how_long_to_wait() -> None:
    limiter = SlidingWindowLimiter(3, window_s=60)
    assert [limiter.hit("k", now=t) for t in (0, 1, 2)] == [None, None, None]
    assert limiter.hit("k", now=10) == pytest.approx(50)
    assert limiter.hit("other", now=10) is None
    assert limiter.hit("k", now=60.5) is None  # the first hit left the window


def test_refused_attempts_do_not_extend_the_wait() -> None:
    limiter = SlidingWindowLimiter(1, window_s=10)
    assert limiter.hit("k", now=0) is None
    for t in range(1, 10):
        assert limiter.hit("k", now=t) == pytest.approx(10 - t)
    assert limiter.hit("k", now=10.01) is None


def test_memory_stays_bounded() -> None:
    limiter = SlidingWindowLimiter(1, window_s=1, max_keys=100)
    for i in range(1000):
        limiter.hit(f"key{i}", now=i * 0.001)
    assert len(limiter._hits) <= 100


def test_reset() -> None:
    limiter = SlidingWindowLimiter(1, window_s=60)
    limiter.hit("k", now=0)
    limiter.reset("k")
    assert limiter.hit("k", now=1) is None
