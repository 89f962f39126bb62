"""The prediction writer (``db.writer.PredictionWriter``) on SQLite in a temporary folder
and on the real PostgreSQL: requests written together get their own ids; a request whose
rows the database refuses fails alone; a database that does not answer is retried, then
reported; a lost PostgreSQL connection is replaced; stopping writes what waits and answers
every caller."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from nba_mlops.config import ServingSettings, Settings
from nba_mlops.db import migrate
from nba_mlops.db import writer as writer_module
from nba_mlops.db.models import Prediction
from nba_mlops.db.session import Database, DatabaseUnavailableError
from nba_mlops.db.writer import PredictionWriter, Row
from tests.support.app_db import BACKENDS, PG_ADMIN_URL, database_url
from tests.support.coroutines import run

# A locked SQLite database answers "database is locked" after this long.
TIMEOUT_S = 0.2
NO_USER = 999_999  # no such account: the database refuses a row that names it


@contextmanager
def _database(backend: str, folder: Path) -> Iterator[Database]:
    with database_url(backend, folder) as url:
        settings = Settings(
            home=folder / "home",
            database_url=url,
            serving=ServingSettings(db_timeout_s=TIMEOUT_S),
        )
        migrate.upgrade(settings)
        db = Database(settings)
        try:
            yield db
        finally:
            db.dispose()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with _database(str(request.param), tmp_path) as database:
        yield database


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    with _database("sqlite", tmp_path) as database:
        yield database


class Inserts:
    """The writer's inserts as they happen (rows per attempt, failures), still made by
    the real ``insert_rows``; ``on_failure`` runs after an attempt fails."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sizes: list[int] = []
        self.failures: list[Exception] = []
        self.on_failure: Callable[[], None] = lambda: None
        real = writer_module.insert_rows

        def spy(connection: Connection, rows: Sequence[Row]) -> list[int]:
            self.sizes.append(len(rows))
            try:
                return real(connection, rows)
            except Exception as exc:
                self.failures.append(exc)
                self.on_failure()
                raise

        monkeypatch.setattr(writer_module, "insert_rows", spy)


@pytest.fixture
def inserts(monkeypatch: pytest.MonkeyPatch) -> Inserts:
    return Inserts(monkeypatch)


def rows(*numbers: int, user_id: int | None = None) -> list[Row]:
    """One prediction row per number, told apart by their shot ids."""
    return [
        {
            "user_id": user_id,
            "input": {"game_id": 20_000_000 + n, "game_event_id": n, "loc_x": n},
            "probability": n / 100,
            "label": n % 2,
            "model_version": "3",
            "latency_ms": 1.5,
            "created_at": datetime.now(UTC),
        }
        for n in numbers
    ]


def stored(db: Database) -> dict[int, int]:
    """The stored predictions: id -> the number its row was made from."""
    with db.engine.connect() as connection:
        found = connection.execute(select(Prediction.id, Prediction.game_event_id)).all()
    return {int(pid): int(number) for pid, number in found}


async def _answers(*calls: Any) -> list[Any]:
    """Each call's ids or error; a caller left waiting fails the test."""
    return list(await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 20))


@contextmanager
def sqlite_locked(db: Database) -> Iterator[Callable[[], None]]:
    """Another connection holds the SQLite database's write lock (as a long write would)
    until the returned function, or the end of the block, releases it."""
    path = make_url(str(db.engine.url)).database
    holder = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            holder.execute("ROLLBACK")

    try:
        yield release
    finally:
        release()
        holder.close()


def database_up() -> float | None:
    return REGISTRY.get_sample_value("nba_database_up")


# --- writing ---------------------------------------------------------------------------------
def test_requests_written_together_share_one_insert_and_get_their_own_ids(
    db: Database, inserts: Inserts
) -> None:
    async def scenario() -> list[Any]:
        writer = PredictionWriter(db)
        writer.start()
        try:
            return await _answers(
                writer.store(rows(1, 2)), writer.store(rows(3)), writer.store(rows(4, 5, 6))
            )
        finally:
            await writer.stop()

    answers = run(scenario())
    assert inserts.sizes == [6]  # one round trip, one commit
    by_id = stored(db)
    assert [[by_id[i] for i in ids] for ids in answers] == [[1, 2], [3], [4, 5, 6]]
    with db.engine.connect() as connection:
        first = connection.execute(
            select(Prediction.game_id, Prediction.purpose, Prediction.origin).where(
                Prediction.id == answers[0][0]
            )
        ).one()
    assert tuple(first) == (20_000_001, "shot", "api")  # completed from the shot's input


def test_a_batch_stops_at_max_batch_rows_but_a_larger_request_is_written_whole(
    sqlite_db: Database, inserts: Inserts
) -> None:
    async def scenario() -> list[Any]:
        writer = PredictionWriter(sqlite_db, max_batch=3)
        writer.start()
        try:
            return await _answers(
                writer.store(rows(1, 2)),
                writer.store(rows(3, 4)),
                writer.store(rows(5, 6, 7, 8, 9)),
                writer.store(rows(10)),
            )
        finally:
            await writer.stop()

    answers = run(scenario())
    assert inserts.sizes == [4, 5, 1]
    by_id = stored(sqlite_db)
    assert [[by_id[i] for i in ids] for ids in answers] == [[1, 2], [3, 4], [5, 6, 7, 8, 9], [10]]


# --- a request the database refuses ----------------------------------------------------------
def test_a_request_the_database_refuses_fails_alone_and_its_neighbours_are_written(
    db: Database, inserts: Inserts
) -> None:
    async def scenario() -> tuple[list[Any], list[int]]:
        writer = PredictionWriter(db)
        writer.start()
        try:
            together = await _answers(
                writer.store(rows(1)),
                writer.store(rows(2, 3, user_id=NO_USER)),
                writer.store(rows(4, 5)),
            )
            after = await asyncio.wait_for(writer.store(rows(6)), 20)
        finally:
            await writer.stop()
        return together, after

    (first, refused, last), after = run(scenario())
    assert isinstance(refused, IntegrityError)
    by_id = stored(db)
    assert [by_id[i] for i in first] == [1]
    assert [by_id[i] for i in last] == [4, 5]
    assert [by_id[i] for i in after] == [6]
    assert sorted(by_id.values()) == [1, 4, 5, 6]  # nothing of the refused request
    # the batch once, then each request alone; a refusal is not retried
    assert inserts.sizes == [5, 1, 2, 2, 1]


# --- a database that does not answer ---------------------------------------------------------
def test_a_database_that_stays_locked_is_retried_then_reported_and_the_next_write_succeeds(
    sqlite_db: Database, inserts: Inserts
) -> None:
    async def scenario() -> tuple[Any, float | None, list[int], float | None]:
        writer = PredictionWriter(sqlite_db)
        writer.start()
        try:
            with sqlite_locked(sqlite_db):
                (failed,) = await _answers(writer.store(rows(1, 2)))
                down = database_up()
            after = await asyncio.wait_for(writer.store(rows(3)), 20)
            return failed, down, after, database_up()
        finally:
            await writer.stop()

    failed, down, after, up = run(scenario())
    assert isinstance(failed, DatabaseUnavailableError)
    assert "retry" in str(failed)
    assert (down, up) == (0.0, 1.0)
    assert inserts.sizes == [2, 2, 2, 1]  # three attempts, then the next request
    assert sorted(stored(sqlite_db).values()) == [3]
    assert [stored(sqlite_db)[i] for i in after] == [3]


def test_a_short_lock_is_ridden_out_by_the_retry_and_the_rows_written_once(
    sqlite_db: Database, inserts: Inserts
) -> None:
    async def scenario() -> list[int]:
        writer = PredictionWriter(sqlite_db)
        writer.start()
        try:
            with sqlite_locked(sqlite_db) as release:
                inserts.on_failure = release  # the lock goes away after the first attempt
                return await asyncio.wait_for(writer.store(rows(1, 2)), 20)
        finally:
            await writer.stop()

    ids = run(scenario())
    assert len(inserts.failures) == 1
    assert inserts.sizes == [2, 2]
    assert stored(sqlite_db) == dict(zip(ids, [1, 2], strict=True))


@pytest.mark.postgres
def test_a_lost_postgresql_connection_is_replaced_and_the_row_written_once(
    tmp_path: Path, inserts: Inserts
) -> None:
    with _database("postgres", tmp_path) as db:
        name = make_url(str(db.engine.url)).database

        def backends() -> set[int]:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                found = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)
                ).fetchall()
            return {int(pid) for (pid,) in found}

        def cut_connections() -> None:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )

        async def scenario() -> tuple[set[int], list[int], set[int]]:
            writer = PredictionWriter(db)
            writer.start()
            try:
                await writer.store(rows(1))  # the writer now holds its connection
                before = backends()
                cut_connections()
                ids = await asyncio.wait_for(writer.store(rows(2)), 20)
                return before, ids, backends()
            finally:
                await writer.stop()

        before, ids, after = run(scenario())
        assert before and not before & after  # a new connection, not the dead one
        assert len(inserts.failures) == 1  # the dead connection, once
        assert sorted(stored(db).values()) == [1, 2]
        assert stored(db)[ids[0]] == 2
        with db.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(Prediction)).scalar() == 2


# --- stopping --------------------------------------------------------------------------------
def test_stopping_writes_what_is_waiting(db: Database) -> None:
    async def scenario() -> list[Any]:
        writer = PredictionWriter(db, max_batch=2)
        writer.start()
        calls = [asyncio.ensure_future(writer.store(rows(n))) for n in range(1, 6)]
        await asyncio.sleep(0)  # every request has handed its rows over
        await writer.stop()
        return await _answers(*calls)

    answers = run(scenario())
    by_id = stored(db)
    assert [by_id[ids[0]] for ids in answers] == [1, 2, 3, 4, 5]


def test_stopping_answers_the_batch_being_written_and_the_requests_still_waiting(
    sqlite_db: Database, inserts: Inserts
) -> None:
    async def scenario() -> list[Any]:
        writer = PredictionWriter(sqlite_db)
        writer.start()
        with sqlite_locked(sqlite_db):
            writing = asyncio.ensure_future(writer.store(rows(1)))
            while not inserts.sizes:  # the first batch is inside its insert
                await asyncio.sleep(0.005)
            waiting = asyncio.ensure_future(writer.store(rows(2)))
            await asyncio.sleep(0)
            await writer.stop(drain_s=0.05)
            return await _answers(writing, waiting)

    answers = run(scenario())
    assert [type(a) for a in answers] == [DatabaseUnavailableError, DatabaseUnavailableError]
    assert all("shutting down" in str(a) for a in answers)
    assert stored(sqlite_db) == {}


def test_storing_before_start_is_refused(sqlite_db: Database) -> None:
    with pytest.raises(RuntimeError, match=r"start\(\) was not called"):
        run(PredictionWriter(sqlite_db).store(rows(1)))


def test_every_value_is_stored_as_given_on_either_database(db: Database) -> None:
    # PostgreSQL receives a batch as one JSON document: numbers must come back as the
    # same doubles and integers, text with quotes and accents as written, missing values
    # as NULL, and a naive time read as the session's time, as a bound value is.
    import numpy as np

    when = datetime(2026, 12, 6, 23, 30, 1, 234_567, tzinfo=UTC)
    shot = {"loc_x": -107, "action_type": 'Jump "Shot" \\ Müller', "game_date": "2023-03-01"}
    given: list[Row] = [
        {
            "user_id": None,
            "input": {**shot, "game_id": 22_200_001, "game_event_id": 7},
            "probability": 0.1 + 0.2,  # 0.30000000000000004
            "label": 1,
            "model_version": "12",
            "latency_ms": 1e-300,
            "created_at": when,
            "run": "day 'one'",
        },
        {
            "user_id": None,
            "input": {"loc_x": 0, "loc_y": 0},  # no shot ids: NULL
            "probability": np.float64(2 / 3),
            "label": 0,
            "model_version": "12",
            "latency_ms": 123456.789,
            "created_at": when,
            "purpose": "grid",
            "origin": "daily",
        },
    ]
    with db.engine.begin() as connection:
        ids = writer_module.insert_rows(connection, given)
    with db.engine.connect() as connection:
        table = Prediction.__table__
        found = {
            row.id: row
            for row in connection.execute(select(table).where(table.c.id.in_(ids))).all()
        }
    first, second = (found[i] for i in ids)
    assert first.input == given[0]["input"] and second.input == given[1]["input"]
    assert (first.probability, second.probability) == (0.1 + 0.2, 2 / 3)
    assert (first.latency_ms, second.latency_ms) == (1e-300, 123456.789)
    assert (first.label, second.label) == (1, 0)
    assert (first.game_id, first.game_event_id) == (22_200_001, 7)
    assert (second.game_id, second.game_event_id) == (None, None)
    assert (first.run, second.run) == ("day 'one'", None)
    assert (first.purpose, first.origin) == ("shot", "api")
    assert (second.purpose, second.origin) == ("grid", "daily")
    for row in (first, second):
        stamp = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        assert stamp == when
