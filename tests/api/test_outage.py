"""The database goes away: clear 503s, then recovery by itself when it returns."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from psycopg import sql

from tests.support.api_servers import (
    Account,
    admin_connection,
    api_settings,
    postgres_database,
    run_server,
    sign_up,
)

SHOT = {"loc_x": 10, "loc_y": 100}


def wait_for(check: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def assert_outage_then_recovery(
    http: httpx.Client,
    account: Account,
    cut: Callable[[], None],
    restore: Callable[[], None],
    *,
    reads_fail: bool = True,
) -> None:
    assert http.post("/predict", json=SHOT, headers=account.headers).status_code == 200
    before = http.get("/predictions", headers=account.headers).json()["total"]
    cut()
    try:
        time.sleep(0.5)  # past the user cache TTL: requests must reach the database
        down = http.post("/predict", json=SHOT, headers=account.headers)
        assert down.status_code == 503, down.text
        assert "database" in down.json()["detail"].lower()
        assert "retry-after" in down.headers
        verify = {"prediction_id": 1, "true_value": 1}
        assert (
            http.post("/verify_random_prediction", json=verify, headers=account.headers).status_code
            == 503
        )
        assert http.get("/health").status_code == 200
        if reads_fail:
            ready = http.get("/ready")
            assert ready.status_code == 503
            assert "database" in ready.json()["detail"]
            assert http.get("/predictions", headers=account.headers).status_code == 503
    finally:
        restore()
    assert wait_for(
        lambda: http.post("/predict", json=SHOT, headers=account.headers).status_code == 200
    ), "the API did not recover after the database came back"
    assert http.get("/ready").status_code == 200
    after = http.get("/predictions", headers=account.headers).json()["total"]
    assert after >= before + 1
    assert "nba_database_up 1.0" in http.get("/metrics").text


def test_sqlite_locked_then_released(model_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    settings = api_settings(model_home, f"sqlite:///{path}", db_timeout_s=0.3)
    with run_server(settings) as live, live.client() as http:
        account = sign_up(http)
        blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

        def cut() -> None:
            # Another process holds the write lock and does not let go: every write
            # waits out the busy timeout. (WAL readers still read: reads keep working.)
            blocker.execute("BEGIN IMMEDIATE")
            blocker.execute("UPDATE users SET disabled = disabled")

        def restore() -> None:
            blocker.execute("ROLLBACK")
            blocker.close()

        assert_outage_then_recovery(http, account, cut, restore, reads_fail=False)


def test_postgres_connections_refused_then_back(model_home: Path) -> None:
    with postgres_database("nba_api_outage") as url:
        name = url.rsplit("/", 1)[1]
        settings = api_settings(model_home, url, db_timeout_s=1.0)
        with run_server(settings) as live, live.client() as http:
            account = sign_up(http)

            def cut() -> None:
                with admin_connection() as conn:
                    conn.execute(
                        sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(
                            sql.Identifier(name)
                        )
                    )
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()",
                        (name,),
                    )

            def restore() -> None:
                with admin_connection() as conn:
                    conn.execute(
                        sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(
                            sql.Identifier(name)
                        )
                    )

            assert_outage_then_recovery(http, account, cut, restore)
