"""Attempt limits on the ``limits`` library: several windows, growing waits, bounded keys."""

from __future__ import annotations

import time

import pytest

from nba_mlops.auth.throttle import Throttle


class Clock:
    """The wall clock the limits library reads, moved by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1_800_000_000.0
        monkeypatch.setattr(time, "time", lambda: self.now)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def test_allows_the_limit_then_says_how_long_to_wait(clock: Clock) -> None:
    throttle = Throttle("3/minute")
    for _ in range(3):
        assert throttle.hit("k") is None
        clock.now += 1
    assert throttle.hit("k") == pytest.approx(57)
    assert throttle.hit("other") is None
    clock.now += 58
    assert throttle.hit("k") is None  # the first attempt left the window


def test_refused_attempts_do_not_extend_the_wait(clock: Clock) -> None:
    throttle = Throttle("1/10 seconds")
    assert throttle.hit("k") is None
    for _ in range(9):
        clock.now += 1
        assert throttle.hit("k") == pytest.approx(10 - (clock.now - 1_800_000_000.0))
    clock.now += 1.01
    assert throttle.hit("k") is None


def test_the_wait_grows_with_persistence(clock: Clock) -> None:
    throttle = Throttle("3/minute;5/hour")
    for _ in range(3):
        assert throttle.hit("k") is None
        clock.now += 1
    first_wait = throttle.hit("k")
    assert first_wait is not None and first_wait <= 60
    clock.now += 60
    assert throttle.hit("k") is None
    assert throttle.hit("k") is None  # the fifth in the hour
    second_wait = throttle.hit("k")
    assert second_wait is not None and second_wait > 3000 > 60 >= first_wait


def test_keys_are_apart_and_a_key_can_be_cleared(clock: Clock) -> None:
    throttle = Throttle("1/minute")
    assert throttle.hit("alice", "10.0.0.1") is None
    assert throttle.hit("alice", "10.0.0.1") is not None
    assert throttle.hit("alice", "10.0.0.2") is None
    assert throttle.wait("alice", "10.0.0.1") is not None  # wait() records nothing
    throttle.clear("alice", "10.0.0.1")
    assert throttle.wait("alice", "10.0.0.1") is None


def test_an_empty_spec_limits_nothing() -> None:
    throttle = Throttle("")
    assert all(throttle.hit("k") is None for _ in range(1000))


def test_memory_stays_bounded(clock: Clock) -> None:
    throttle = Throttle("5/hour;20/day", max_keys=100)
    for i in range(1000):
        throttle.hit(f"address-{i}")
    assert throttle.keys() <= 200  # two windows per key
