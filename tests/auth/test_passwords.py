"""Password hashing: Argon2id at the configured cost, and bounded per process."""

from __future__ import annotations

import asyncio
import threading

import pytest

from nba_mlops.auth.passwords import (
    HashCost,
    HashingBusyError,
    PasswordHashing,
    hash_cost,
    hash_password,
    verify_password,
)
from nba_mlops.config import ServingSettings, Settings
from tests.support.coroutines import run


def test_hash_is_argon2id_at_the_small_host_cost_salted_and_verifies() -> None:
    first, second = hash_password("a long passphrase"), hash_password("a long passphrase")
    assert first.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert first != second  # salted
    assert verify_password("a long passphrase", first)
    assert not verify_password("a long passphrase!", first)


def test_the_cost_comes_from_the_settings_and_old_hashes_still_verify() -> None:
    settings = Settings(
        serving=ServingSettings(password_hash_memory_kib=8192, password_hash_time_cost=3)
    )
    cost = hash_cost(settings)
    assert cost == HashCost(memory_kib=8192, time_cost=3, parallelism=1)
    cheaper = hash_password("a long passphrase", cost)
    assert cheaper.startswith("$argon2id$v=19$m=8192,t=3,p=1$")
    assert verify_password("a long passphrase", cheaper)  # read with the default cost


def test_unknown_user_and_corrupt_hash_fail_without_raising() -> None:
    assert not verify_password("anything", None)
    assert not verify_password("anything", "not-a-hash")


def test_hashing_runs_a_bounded_number_at_once_and_refuses_the_excess() -> None:
    release = threading.Event()
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        release.wait(10)
        return n

    async def scenario() -> None:
        hashing = PasswordHashing(concurrency=1, queue=1, wait_s=30)
        first = asyncio.create_task(hashing.run(work, 1))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(hashing.run(work, 2))
        await asyncio.sleep(0.05)
        assert hashing.busy == (1, 1)
        with pytest.raises(HashingBusyError) as refused:  # no room to wait: refused at once
            await hashing.run(work, 3)
        assert refused.value.retry_after_s >= 1
        assert started == [1]
        release.set()
        assert await asyncio.gather(first, second) == [1, 2]
        assert started == [1, 2] and hashing.busy == (0, 0)

    run(scenario())


def test_a_caller_waits_at_most_wait_s() -> None:
    release = threading.Event()

    async def scenario() -> None:
        hashing = PasswordHashing(concurrency=1, queue=5, wait_s=0.1)
        first = asyncio.create_task(hashing.run(release.wait, 10))
        await asyncio.sleep(0.05)
        with pytest.raises(HashingBusyError):
            await hashing.run(release.wait, 10)
        release.set()
        assert await first is True
        assert hashing.busy == (0, 0)

    run(scenario())


def test_a_caller_that_leaves_keeps_the_slot_until_its_thread_ends() -> None:
    release = threading.Event()

    async def scenario() -> None:
        hashing = PasswordHashing(concurrency=1, queue=0, wait_s=1)
        leaving = asyncio.create_task(hashing.run(release.wait, 10))
        await asyncio.sleep(0.05)
        leaving.cancel()
        await asyncio.sleep(0.05)
        with pytest.raises(HashingBusyError):  # the thread still hashes: no second one
            await hashing.run(release.wait, 10)
        release.set()
        for _ in range(100):
            if hashing.busy == (0, 0):
                break
            await asyncio.sleep(0.01)
        assert await hashing.run(lambda: "free again") == "free again"

    run(scenario())
