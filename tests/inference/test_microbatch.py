"""Micro-batching: requests that arrive together are scored together, and a request to an
idle server is scored at once, without waiting for company."""

from __future__ import annotations

import asyncio
import threading
import time

from nba_mlops.inference.microbatch import MicroBatcher, Record, Scored
from tests.support.coroutines import run

# Windows far longer than any scheduling hiccup: a wait would show.
IDLE_S = 0.5
MAX_WAIT_S = 1.0


class Recorder:
    """A scoring function that records its calls and can be held inside one."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, list[int]]] = []
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()

    def __call__(self, records: list[Record]) -> Scored:
        self.calls.append((time.monotonic(), [r["i"] for r in records]))
        self.entered.set()
        self.release.wait(10)
        return Scored([float(r["i"]) for r in records], "1")


def _batcher(score: Recorder) -> MicroBatcher:
    return MicroBatcher(score, max_size=512, max_wait_s=MAX_WAIT_S, idle_s=IDLE_S)


def test_an_idle_server_scores_a_request_at_once() -> None:
    async def scenario() -> list[float]:
        score = Recorder()
        batcher = _batcher(score)
        batcher.start()
        waits = []
        try:
            for i in range(3):
                sent = time.monotonic()
                scored = await batcher.submit([{"i": i}])
                assert scored.probabilities == [float(i)]
                waits.append(score.calls[-1][0] - sent)
        finally:
            await batcher.stop()
        return waits

    waits = run(scenario())
    assert max(waits) < IDLE_S / 5, waits


def test_requests_that_arrive_together_are_scored_together() -> None:
    async def scenario() -> list[list[int]]:
        score = Recorder()
        batcher = _batcher(score)
        batcher.start()
        loop = asyncio.get_running_loop()
        try:
            score.release.clear()  # the first call holds the scorer ...
            first = asyncio.ensure_future(batcher.submit([{"i": 0}]))
            await loop.run_in_executor(None, score.entered.wait, 10)
            # ... while two more requests arrive: they make the next batch
            wave = [asyncio.ensure_future(batcher.submit([{"i": i}])) for i in (1, 2)]
            await asyncio.sleep(0.05)
            score.release.set()
            await asyncio.gather(first, *wave)
            # under load, a request waits for the rest of its wave (here 0.1 s later)
            third = asyncio.ensure_future(batcher.submit([{"i": 3}]))
            await asyncio.sleep(0.1)
            fourth = asyncio.ensure_future(batcher.submit([{"i": 4}]))
            results = await asyncio.gather(third, fourth)
            assert [r.probabilities for r in results] == [[3.0], [4.0]]
            # once the wave is over and the server idle, nobody waits again
            await asyncio.sleep(IDLE_S * 1.2)
            await batcher.submit([{"i": 5}])
        finally:
            await batcher.stop()
        return [ids for _, ids in score.calls]

    assert run(scenario()) == [[0], [1, 2], [3, 4], [5]]


def test_a_few_shots_are_scored_on_the_event_loop_and_many_in_the_thread() -> None:
    threads: list[str] = []

    def score(records: list[Record]) -> Scored:
        threads.append(threading.current_thread().name)
        return Scored([0.5] * len(records), "1")

    async def scenario() -> str:
        batcher = MicroBatcher(score, max_size=512, max_wait_s=0.01, inline_max=4)
        batcher.start()
        try:
            await batcher.submit([{"i": i} for i in range(4)])
            await batcher.submit([{"i": i} for i in range(5)])
        finally:
            await batcher.stop()
        return threading.current_thread().name

    loop_thread = run(scenario())
    assert threads[0] == loop_thread
    assert threads[1].startswith("inference")
