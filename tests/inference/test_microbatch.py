"""Micro-batching: requests that arrive together are scored together, and a request to an
idle server is scored at once, without waiting for company."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

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


# --- error isolation, callers that went away, batch size and shutdown ------------------------
class ModelGoneError(RuntimeError):
    """Stands for an error that concerns every request alike (no model to score with)."""


class Scorer(Recorder):
    """A held-able scoring function that fails on the records marked ``bad`` (a shot the
    model cannot take) or ``gone`` (no model at all)."""

    def __call__(self, records: list[Record]) -> Scored:
        super().__call__(records)  # recorded, and held while the test holds it
        if any(r.get("gone") for r in records):
            raise ModelGoneError("no model")
        if any(r.get("bad") for r in records):
            raise ValueError("a shot the model cannot take")
        return Scored([r["i"] / 10 for r in records], "7")


async def _answers(*futures: asyncio.Future[Scored]) -> list[Scored | BaseException]:
    """Every caller's answer, a result or an error; a caller left waiting fails the test."""
    return list(await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 10))


async def _hold_then_queue(
    batcher: MicroBatcher, score: Recorder, requests: list[list[Record]]
) -> tuple[asyncio.Future[Scored], list[asyncio.Future[Scored]]]:
    """Submit ``{"i": 0}`` and hold the scorer inside that call while ``requests`` queue up
    behind it: they are the next batch, together."""
    score.release.clear()
    first = asyncio.ensure_future(batcher.submit([{"i": 0}]))
    await asyncio.get_running_loop().run_in_executor(None, score.entered.wait, 10)
    queued = [asyncio.ensure_future(batcher.submit(records)) for records in requests]
    await asyncio.sleep(0.05)  # every one is on the queue
    return first, queued


def test_a_request_that_fails_fails_alone_and_its_batch_neighbours_are_scored() -> None:
    async def scenario() -> tuple[list[Scored | BaseException], list[list[int]]]:
        score = Scorer()
        batcher = _batcher(score)
        batcher.start()
        try:
            first, queued = await _hold_then_queue(
                batcher,
                score,
                [[{"i": 1}, {"i": 2}], [{"i": 3, "bad": True}], [{"i": 4}]],
            )
            score.release.set()
            outcomes = (await _answers(first, *queued))[1:]
        finally:
            score.release.set()
            await batcher.stop()
        return outcomes, [ids for _, ids in score.calls]

    outcomes, calls = run(scenario())
    assert outcomes[0] == Scored([0.1, 0.2], "7")
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] == Scored([0.4], "7")
    # the batch once, then each request of it alone
    assert calls == [[0], [1, 2, 3, 4], [1, 2], [3], [4]]


def test_an_error_about_every_request_fails_the_batch_without_scoring_each_alone() -> None:
    async def scenario() -> tuple[list[Scored | BaseException], list[list[int]]]:
        score = Scorer()
        batcher = MicroBatcher(
            score, max_size=512, max_wait_s=MAX_WAIT_S, pass_through=(ModelGoneError,)
        )
        batcher.start()
        try:
            first, queued = await _hold_then_queue(
                batcher, score, [[{"i": 1}], [{"i": 2, "gone": True}], [{"i": 3}]]
            )
            score.release.set()
            outcomes = (await _answers(first, *queued))[1:]
        finally:
            score.release.set()
            await batcher.stop()
        return outcomes, [ids for _, ids in score.calls]

    outcomes, calls = run(scenario())
    assert all(isinstance(outcome, ModelGoneError) for outcome in outcomes), outcomes
    assert calls == [[0], [1, 2, 3]]


def test_after_a_request_fails_the_next_one_is_scored() -> None:
    async def scenario() -> Scored:
        score = Scorer()
        batcher = _batcher(score)
        batcher.start()
        try:
            with pytest.raises(ValueError):
                await batcher.submit([{"i": 1, "bad": True}])
            return await asyncio.wait_for(batcher.submit([{"i": 2}]), 5)
        finally:
            await batcher.stop()

    assert run(scenario()) == Scored([0.2], "7")


def test_a_caller_that_went_away_is_not_scored_and_the_others_are() -> None:
    async def scenario() -> tuple[list[Scored | BaseException], list[list[int]]]:
        score = Scorer()
        batcher = _batcher(score)
        batcher.start()
        try:
            first, (one, gone, three) = await _hold_then_queue(
                batcher, score, [[{"i": 1}], [{"i": 2}], [{"i": 3}, {"i": 4}]]
            )
            gone.cancel()
            await asyncio.sleep(0)
            score.release.set()
            results = (await _answers(first, one, three))[1:]
        finally:
            score.release.set()
            await batcher.stop()
        return results, [ids for _, ids in score.calls]

    results, calls = run(scenario())
    assert results == [Scored([0.1], "7"), Scored([0.3, 0.4], "7")]
    assert calls == [[0], [1, 3, 4]]


def test_a_batch_stops_growing_at_max_size() -> None:
    async def scenario() -> list[list[int]]:
        score = Scorer()
        batcher = MicroBatcher(score, max_size=3, max_wait_s=MAX_WAIT_S, idle_s=IDLE_S)
        batcher.start()
        try:
            first, queued = await _hold_then_queue(
                batcher, score, [[{"i": i}] for i in range(1, 6)]
            )
            score.release.set()
            await _answers(first, *queued)
        finally:
            score.release.set()
            await batcher.stop()
        return [ids for _, ids in score.calls]

    assert run(scenario()) == [[0], [1, 2, 3], [4, 5]]


def test_stopping_answers_the_request_being_scored_and_the_ones_waiting() -> None:
    async def scenario() -> list[Scored | BaseException]:
        score = Scorer()
        batcher = _batcher(score)
        batcher.start()
        try:
            first, queued = await _hold_then_queue(batcher, score, [[{"i": 1}]])
            await batcher.stop()  # the scorer is still inside the first call
            return await asyncio.wait_for(asyncio.gather(first, *queued, return_exceptions=True), 5)
        finally:
            score.release.set()

    outcomes = run(scenario())
    assert [type(o) for o in outcomes] == [RuntimeError, RuntimeError]
    assert all("shutting down" in str(o) for o in outcomes)


def test_submitting_before_start_is_refused() -> None:
    async def scenario() -> None:
        await _batcher(Scorer()).submit([{"i": 1}])

    with pytest.raises(RuntimeError, match=r"start\(\) was not called"):
        run(scenario())
