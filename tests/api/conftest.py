"""Fixtures of the API tests: servers on SQLite and on the real PostgreSQL.

Session-scoped: the champion is trained once and each backend's server started once;
tests isolate themselves with unique usernames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from nba_mlops.config import Settings
from tests.support.api_champion import register_version
from tests.support.api_servers import (
    Account,
    LiveServer,
    api_settings,
    postgres_database,
    run_server,
    sign_up,
)


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def model_home(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose MLflow store holds a trained, promoted champion.

    The champion of the real pipeline (the suite's ``trained_settings``) when the
    pipeline is importable, else a small real model trained on the same bundled sample.
    """
    try:
        import nba_mlops.pipeline  # noqa: F401
    except ImportError:
        home = tmp_path_factory.mktemp("model-home")
        register_version(home)
        return home
    trained: Settings = request.getfixturevalue("trained_settings")
    return trained.home


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'app.db'}"
        return
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def web_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("web-dist")
    (dist / "index.html").write_text("<!doctype html><title>court</title>", encoding="utf-8")
    (dist / "assets").mkdir()
    (dist / "assets" / "app.js").write_text("console.log('court')", encoding="utf-8")
    return dist


@pytest.fixture(scope="session")
def live(model_home: Path, database_url: str, web_dist: Path) -> Iterator[LiveServer]:
    """The API on this backend, serving the session's champion."""
    settings = api_settings(model_home, database_url, web_dist_dir=web_dist)
    with run_server(settings) as server:
        yield server


@pytest.fixture(scope="session")
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client() as http:
        yield http


@pytest.fixture
def account(client: httpx.Client) -> Account:
    """A new user with a token, unique to the test."""
    return sign_up(client)


@pytest.fixture
def make_account(client: httpx.Client) -> Callable[[], Account]:
    return lambda: sign_up(client)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the API tests on one xdist worker (one set of live servers) and mark the
    ones that need PostgreSQL."""
    here = Path(__file__).parent
    for item in items:
        if here not in Path(str(item.fspath)).parents:
            continue
        item.add_marker(pytest.mark.xdist_group("api"))
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        if backend == "postgres" or "postgres" in item.name:
            item.add_marker(pytest.mark.postgres)
