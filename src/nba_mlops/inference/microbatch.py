"""Score requests that arrive together in one call (micro-batching).

Each request puts its shots on an asyncio queue and awaits a future. One consumer task
takes every request waiting and runs the scoring function once, in a worker thread, on
all of them. While that call runs the next batch fills up, so the batch size follows the
load by itself: one shot per call when idle, hundreds under load, and the event loop
never blocks on the model.

Under load (the last batch held more than one request and ended less than ``idle_s``
ago) the consumer also waits a little for the wave of requests still arriving: until
``max_size`` shots, ``max_wait_s`` after the first, or ``idle_s`` without a new one. When
the server is idle a request is scored at once, without any wait.

A batch of at most ``inline_max`` shots (an idle server's single request) is scored on
the event loop itself: it takes a fraction of a millisecond, less than handing it to the
thread and back, and two thread wake-ups fewer on a busy machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from nba_mlops.aio import cancel_and_wait

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Scored:
    """Make probabilities of some shots, in request order, and the model that gave them."""

    probabilities: list[float]
    model_version: str


@dataclass(slots=True)
class _Request:
    records: Sequence[Record]
    future: asyncio.Future[Scored] = field(repr=False)


class MicroBatcher:
    """Coalesce concurrent ``submit`` calls into batched calls of ``score``.

    ``score(records)`` runs in a dedicated thread and returns one probability per record
    plus the model version, so every shot of a batch is scored by the same model even
    when the champion is swapped meanwhile.
    """

    def __init__(
        self,
        score: Callable[[list[Record]], Scored],
        *,
        max_size: int,
        max_wait_s: float,
        idle_s: float | None = None,
        isolate_errors: tuple[type[BaseException], ...] = (Exception,),
        pass_through: tuple[type[BaseException], ...] = (),
        inline_max: int = 0,
    ) -> None:
        self._score = score
        self._inline_max = max(0, inline_max)
        self._max_size = max(1, max_size)
        self._max_wait_s = max(0.0, max_wait_s)
        self._idle_s = self._max_wait_s if idle_s is None else max(0.0, idle_s)
        self._isolate = isolate_errors
        self._pass_through = pass_through
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self._task: asyncio.Task[None] | None = None
        # Requests in the last batch and when it was scored: more than one, just now,
        # means load, worth waiting for more.
        self._last_requests = 0
        self._last_done = float("-inf")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="microbatch")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        while not self._queue.empty():
            request = self._queue.get_nowait()
            if not request.future.done():
                request.future.set_exception(RuntimeError("the server is shutting down"))
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, records: Sequence[Record]) -> Scored:
        if self._task is None:
            raise RuntimeError("MicroBatcher.start() was not called")
        future: asyncio.Future[Scored] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Request(records, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0].records)
            deadline = loop.time() + self._max_wait_s
            # idle: score what is here, wait for nothing
            gather = self._last_requests > 1 and loop.time() - self._last_done < self._idle_s
            while size < self._max_size:
                if self._queue.empty():
                    if not gather:
                        break
                    # Keep gathering while requests keep coming (the clients answered by
                    # the previous batch send their next shots within a few ms), stop
                    # when none came for idle_s or at the deadline.
                    remaining = min(deadline - loop.time(), self._idle_s)
                    if remaining <= 0:
                        break
                    try:
                        request = await asyncio.wait_for(self._queue.get(), remaining)
                    except TimeoutError:
                        break
                else:
                    request = self._queue.get_nowait()
                batch.append(request)
                size += len(request.records)
            self._last_requests = len(batch)
            try:
                await self._dispatch(batch)
            except asyncio.CancelledError:
                # Stopped while this batch was being scored: its callers are answered, as
                # the ones still queued are, instead of waiting for ever.
                for request in batch:
                    _fail(request, RuntimeError("the server is shutting down"))
                raise
            self._last_done = loop.time()

    async def _dispatch(self, batch: list[_Request]) -> None:
        live = [r for r in batch if not r.future.done()]  # callers may have gone away
        if not live:
            return
        records = [record for request in live for record in request.records]
        try:
            scored = await self._call(records)
        except self._pass_through as exc:
            for request in live:
                _fail(request, exc)
            return
        except self._isolate as exc:
            if len(live) == 1:
                _fail(live[0], exc)
                return
            # One bad shot must not fail its neighbours: score each request alone.
            for request in live:
                try:
                    alone = await self._call(list(request.records))
                except Exception as single_exc:
                    _fail(request, single_exc)
                else:
                    _resolve(request, alone)
            return
        start = 0
        for request in live:
            end = start + len(request.records)
            _resolve(request, Scored(scored.probabilities[start:end], scored.model_version))
            start = end

    async def _call(self, records: list[Record]) -> Scored:
        if len(records) <= self._inline_max:
            return self._score(records)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._score, records)


def _resolve(request: _Request, scored: Scored) -> None:
    if not request.future.done():
        request.future.set_result(scored)


def _fail(request: _Request, exc: BaseException) -> None:
    if not request.future.done():
        request.future.set_exception(exc)
