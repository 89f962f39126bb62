"""The tools and services some tests need beyond the Python and web dependencies, and what
happens where one is missing.

Under CI (``CI=true``) the test fails: a green CI run means every check ran. On a
developer's machine the test is skipped with a reason that starts with ``MISSING``; the
run's summary then says in one line what was skipped and that ``make test-deps``
(``scripts/install_test_deps.sh``) installs it. The README lists the same prerequisites.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

INSTALL = "make test-deps"
#: Every skip for a missing prerequisite starts with this, so the summary can find them.
MISSING = "missing prerequisite"
#: A tool that is used where present and required nowhere (the summary lists it apart).
OPTIONAL = "missing optional tool"


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def find(name: str) -> str | None:
    """The tool's path: on the PATH, or in ``~/.local/bin`` (where ``uv tool`` installs)."""
    found = shutil.which(name)
    if found:
        return found
    local = Path.home() / ".local" / "bin" / name
    return str(local) if local.is_file() else None


def missing(name: str, detail: str = "") -> None:
    """Fail (under CI) or skip (elsewhere) a test that cannot run without ``name``."""
    why = f": {detail}" if detail else ""
    if on_ci():
        pytest.fail(f"{name} is missing{why}; CI must run this check ({INSTALL})", pytrace=False)
    pytest.skip(f"{MISSING} {name}{why} ({INSTALL} installs it)")


def require(name: str, detail: str = "") -> str:
    """The tool's path; see ``missing`` for what happens without it."""
    found = find(name)
    if found is None:
        missing(name, detail or "not installed")
    assert found is not None
    return found


#: The Redis the shared-state tests use (it keeps nothing on disk; tests use own prefixes).
REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    """The machine's Redis, answering; see ``missing`` for what happens without it."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        missing("Redis at 127.0.0.1:6379", str(error))
    return REDIS_URL
