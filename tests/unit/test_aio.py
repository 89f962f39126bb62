"""The shared helper that stops the serving process's background tasks."""

from __future__ import annotations

import asyncio

from nba_mlops.aio import cancel_and_wait


def test_a_running_task_is_cancelled_and_waited_for() -> None:
    cleaned: list[str] = []

    async def background() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0)  # its own clean-up still runs to the end
            cleaned.append("done")

    async def scenario() -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(background())
        await asyncio.sleep(0)
        await cancel_and_wait(task)
        return task

    task = asyncio.run(scenario())
    assert task.cancelled() and cleaned == ["done"]


def test_nothing_to_stop_and_an_ended_task_are_fine() -> None:
    async def scenario() -> None:
        await cancel_and_wait(None)
        finished = asyncio.get_running_loop().create_task(asyncio.sleep(0, result=1))
        await finished
        await cancel_and_wait(finished)
        assert finished.result() == 1

    asyncio.run(scenario())
