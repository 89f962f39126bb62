"""Attempt limits on the ``limits`` library: several windows, growing waits, bounded keys;
in a worker's memory, or in Redis shared by every replica."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator

import pytest

from nba_mlops.auth.throttle import Throttle
from tests.support.prerequisites import REDIS_URL, redis_url


class Clock:
    """The wall clock the limits library reads, moved by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1_800_000_000.0
        monkeypatch.setattr(time, "time", lambda: self.now)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the machine's Redis, removed afterwards."""
    import redis

    redis_url()
    prefix = f"nba-mlops-test:{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)


MakeThrottle = Callable[..., Throttle]


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest) -> MakeThrottle:
    """Throttles of one kind: in the worker's memory, or in Redis (a fresh prefix)."""
    if request.param == "memory":
        return lambda spec, **kw: Throttle(spec, **kw)
    prefix = request.getfixturevalue("redis_prefix")
    return lambda spec, **kw: Throttle(spec, redis_url=REDIS_URL, key_prefix=prefix, **kw)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    from tests.support.coroutines import run as run_coroutine

    async def main() -> None:
        await scenario()

    run_coroutine(main())


def test_allows_the_limit_then_says_how_long_to_wait(clock: Clock, make: MakeThrottle) -> None:
    async def scenario() -> None:
        throttle = make("3/minute")
        for _ in range(3):
            assert await throttle.hit("k") is None
            clock.now += 1
        assert await throttle.hit("k") == pytest.approx(57)
        assert await throttle.hit("other") is None
        clock.now += 58
        assert await throttle.hit("k") is None  # the first attempt left the window

    run(scenario)


def test_refused_attempts_do_not_extend_the_wait(clock: Clock, make: MakeThrottle) -> None:
    async def scenario() -> None:
        throttle = make("1/10 seconds")
        assert await throttle.hit("k") is None
        for _ in range(9):
            clock.now += 1
            wait = await throttle.hit("k")
            assert wait == pytest.approx(10 - (clock.now - 1_800_000_000.0))
        clock.now += 1.01
        assert await throttle.hit("k") is None

    run(scenario)


def test_the_wait_grows_with_persistence(clock: Clock, make: MakeThrottle) -> None:
    async def scenario() -> None:
        throttle = make("3/minute;5/hour")
        for _ in range(3):
            assert await throttle.hit("k") is None
            clock.now += 1
        first_wait = await throttle.hit("k")
        assert first_wait is not None and first_wait <= 60
        clock.now += 60
        assert await throttle.hit("k") is None
        assert await throttle.hit("k") is None  # the fifth in the hour
        second_wait = await throttle.hit("k")
        assert second_wait is not None and second_wait > 3000 > 60 >= first_wait

    run(scenario)


def test_keys_are_apart_and_a_key_can_be_cleared(clock: Clock, make: MakeThrottle) -> None:
    async def scenario() -> None:
        throttle = make("1/minute")
        assert await throttle.hit("alice", "10.0.0.1") is None
        assert await throttle.hit("alice", "10.0.0.1") is not None
        assert await throttle.hit("alice", "10.0.0.2") is None
        assert await throttle.wait("alice", "10.0.0.1") is not None  # wait() records nothing
        await throttle.clear("alice", "10.0.0.1")
        assert await throttle.wait("alice", "10.0.0.1") is None

    run(scenario)


def test_an_empty_spec_limits_nothing(make: MakeThrottle) -> None:
    async def scenario() -> None:
        throttle = make("")
        assert not throttle.shared
        for _ in range(1000):
            assert await throttle.hit("k") is None

    run(scenario)


def test_memory_stays_bounded(clock: Clock) -> None:
    async def scenario() -> None:
        throttle = Throttle("5/hour;20/day", max_keys=100)
        for i in range(1000):
            await throttle.hit(f"address-{i}")
        assert throttle.keys() <= 200  # two windows per key

    run(scenario)


def test_replicas_sharing_redis_count_the_same_attempts(clock: Clock, redis_prefix: str) -> None:
    """Three workers (of one replica or of three) share one limit through Redis."""

    async def scenario() -> None:
        replicas = [
            Throttle("4/minute", redis_url=REDIS_URL, key_prefix=redis_prefix) for _ in range(3)
        ]
        assert all(r.shared for r in replicas)
        outcomes = [await replicas[i % 3].hit("alice", "10.0.0.1") for i in range(6)]
        assert outcomes[:4] == [None] * 4
        assert all(o is not None for o in outcomes[4:])
        assert await replicas[2].wait("alice", "10.0.0.1") is not None
        await replicas[0].clear("alice", "10.0.0.1")
        assert await replicas[1].wait("alice", "10.0.0.1") is None
        assert all(r.keys() == 0 for r in replicas)  # nothing counted in a worker's memory

    run(scenario)


def test_without_redis_a_worker_keeps_counting_on_its_own(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis gone (nothing listens on port 1): attempts are still limited, per worker,
    and the log says why."""

    async def scenario() -> None:
        throttle = Throttle("2/minute", redis_url="redis://127.0.0.1:1/0")
        assert throttle.shared
        assert await throttle.hit("k") is None
        assert await throttle.hit("k") is None
        assert await throttle.hit("k") is not None

    with caplog.at_level("WARNING"):
        run(scenario)
    assert "Redis did not answer" in caplog.text


def test_a_redis_url_of_another_scheme_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="REDIS_URL must start with redis://"):
        Throttle("1/minute", redis_url="http://127.0.0.1:6379")


def test_failed_logins_are_counted_under_a_key_of_bounded_length() -> None:
    from nba_mlops.api.routes.auth import FAILURE_KEY_LENGTH, failure_key

    assert failure_key("BOB_P") == failure_key("\uff42\uff4f\uff42\uff3f\uff50") == "bob_p"
    # NFKC spells U+FDFA out in 18 characters: 100 of them would be a 1,800-character key.
    assert len(failure_key("\ufdfa" * 100)) <= FAILURE_KEY_LENGTH
    assert len(failure_key("x" * 10_000)) == FAILURE_KEY_LENGTH


def test_concurrent_attempts_get_no_more_than_the_limit(make: MakeThrottle) -> None:
    """Attempts racing for the last room (concurrent requests) are refused once the
    window is full, not all let through by one look."""

    async def scenario() -> None:
        throttle = make("5/minute")
        outcomes = await asyncio.gather(*(throttle.hit("alice", "10.0.0.1") for _ in range(12)))
        assert sum(outcome is None for outcome in outcomes) == 5
        assert all(outcome is None or outcome > 0 for outcome in outcomes)

    run(scenario)
