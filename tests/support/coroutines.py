"""Running a coroutine from a synchronous test.

A test process may already have an event loop running in its main thread (the browser
tests' Playwright session does), and ``asyncio.run`` refuses to start a second one there.
A loop of its own in a short-lived thread works whatever ran before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion on a new event loop in a thread of its own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
