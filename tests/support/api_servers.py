"""Live API servers for the tests: a real uvicorn serving ``create_app(settings)`` on a
free port in a background thread, PostgreSQL databases made and dropped per use, and
small helpers to sign users up."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn
from psycopg import sql

from nba_mlops.api.app import create_app
from nba_mlops.config import ServingSettings, Settings
from nba_mlops.db import migrate
from tests.support.prerequisites import missing

PG_ADMIN_URL = os.environ.get(
    "NBA_MLOPS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
JWT_SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"


# --- PostgreSQL --------------------------------------------------------------------------------
def postgres_or_skip() -> None:
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        missing("PostgreSQL", f"{PG_ADMIN_URL} is unreachable: {exc}")


def admin_connection() -> psycopg.Connection[Any]:
    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


@contextmanager
def postgres_database(prefix: str = "nba_api_test") -> Iterator[str]:
    """A new, uniquely named database; dropped (connections and all) afterwards."""
    postgres_or_skip()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    finally:
        with admin_connection() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(name))
            )
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# --- servers -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    settings: Settings
    app: Any

    @property
    def services(self) -> Any:
        return self.app.state.services

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)


@contextmanager
def run_server(settings: Settings, *, migrate_db: bool = True) -> Iterator[LiveServer]:
    """Serve ``create_app(settings)`` with uvicorn in a thread until the block ends."""
    if migrate_db:
        migrate.upgrade(settings)
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        loop="asyncio",
        proxy_headers=False,  # as ``serve`` runs it: serving.trusted_proxies decides
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", settings, app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def api_settings(home: Path, database_url: str | None, **serving: Any) -> Settings:
    options: dict[str, Any] = {
        "reload_interval_s": 3600.0,
        "refresh_interval_s": 0.0,
        "user_cache_ttl_s": 0.2,
        # Tests sign many users up from one address; test_rate_limit.py sets the limits.
        "signup_limits": "",
        "login_limits": "",
        "login_failure_limits": "",
        "db_timeout_s": 2.0,
    }
    options.update(serving)
    # These two fields are only settable by their variable names; the tracking URI is
    # explicit because mlflow.set_tracking_uri() exports it to the environment.
    by_variable: dict[str, Any] = {
        "NBA_MLOPS_JWT_SECRET": JWT_SECRET,
        "MLFLOW_TRACKING_URI": f"sqlite:///{(home / 'mlflow' / 'mlflow.db').resolve()}",
    }
    return Settings(
        home=home,
        database_url=database_url,
        serving=ServingSettings(**options),
        **by_variable,
    )


# --- users -----------------------------------------------------------------------------------
@dataclass
class Account:
    id: int
    username: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def sign_up(http: httpx.Client, username: str | None = None) -> Account:
    username = username or unique_name()
    created = http.post("/signup", json={"username": username, "password": PASSWORD})
    assert created.status_code == 201, created.text
    token = http.post("/login", data={"username": username, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return Account(created.json()["id"], username, PASSWORD, token.json()["access_token"])
