"""Store predictions in batches, and answer only once they are durable.

Requests hand their rows to :meth:`PredictionWriter.store` and await the ids. One task
drains everything waiting into a single multi-row ``INSERT ... RETURNING id`` transaction
in a worker thread; while that commit runs the next batch gathers (group commit). So
under load hundreds of predictions share one round trip and one fsync, when idle a row is
written at once, and a request never answers 2xx before its row is committed. A batch
the database refuses (a row it will not take) commits nothing and is written again one
request at a time, so only the request whose rows were refused fails; a database that
does not answer is retried briefly, then every request of the batch is told to retry.

On PostgreSQL the writer keeps one connection in autocommit mode: the insert is one
statement, so it is its own transaction, committed (and synced) before it returns, in
one round trip to the server instead of four (the pool's liveness ping, ``BEGIN``, the
insert, ``COMMIT``). A connection that fails is dropped and the retry takes a new one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import orjson
from sqlalchemy import Connection, insert
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from nba_mlops import metrics
from nba_mlops.aio import cancel_and_wait
from nba_mlops.db.models import ORIGIN_API, PURPOSE_SHOT, Prediction
from nba_mlops.db.session import Database, DatabaseUnavailableError, is_unavailable
from nba_mlops.log import get_logger

logger = get_logger(__name__)

Row = dict[str, Any]
# One caller's rows and the future its ids are set on.
_Item = tuple[Sequence[Row], asyncio.Future[list[int]]]
_INSERT = insert(Prediction).returning(Prediction.id, sort_by_parameter_order=True)
# A held connection unused for longer than this is checked again before the next insert.
CONNECTION_IDLE_S = 30.0


class PredictionWriter:
    """Batched, durable inserts into ``predictions``; one instance per process."""

    def __init__(self, db: Database, *, max_batch: int = 2000) -> None:
        self._db = db
        self._max_batch = max(1, max_batch)
        self._pending: list[_Item] = []
        self._wakeup: asyncio.Event | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prediction-writer")
        self._task: asyncio.Task[None] | None = None
        self._up: bool | None = None
        self._busy = False
        # PostgreSQL: the connection the writer's thread inserts with, and when it last did.
        self._connection: Connection | None = None
        self._used_at = 0.0

    def start(self) -> None:
        if self._task is None:
            self._wakeup = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="writer")

    async def stop(self, drain_s: float = 5.0) -> None:
        """Write what is still waiting (for up to ``drain_s``), then stop."""
        if self._task is not None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + drain_s
            while (self._pending or self._busy) and loop.time() < deadline:
                await asyncio.sleep(0.01)
            await cancel_and_wait(self._task)
            self._task = None
        _fail(self._pending, DatabaseUnavailableError("the server is shutting down"))
        self._pending.clear()
        self._executor.shutdown(wait=True)
        self._drop_connection()

    async def store(self, rows: Sequence[Row]) -> list[int]:
        """Insert ``rows``; returns their ids once committed."""
        if self._task is None or self._wakeup is None:
            raise RuntimeError("PredictionWriter.start() was not called")
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                await self._flush()

    async def _flush(self) -> None:
        taken, size = 0, 0
        while taken < len(self._pending) and (taken == 0 or size < self._max_batch):
            size += len(self._pending[taken][0])
            taken += 1
        batch, self._pending = self._pending[:taken], self._pending[taken:]
        self._busy = True
        try:
            await self._write(batch)
        except asyncio.CancelledError:
            # Stopped while this batch was being written: its callers are answered, as
            # the ones still waiting are, instead of waiting for ever.
            _fail(batch, DatabaseUnavailableError("the server is shutting down"))
            raise
        finally:
            self._busy = False

    async def _write(self, batch: list[_Item]) -> None:
        rows = [row for item_rows, _ in batch for row in item_rows]
        loop = asyncio.get_running_loop()
        try:
            ids = await loop.run_in_executor(self._executor, self._insert, rows)
        except Exception as exc:
            if is_unavailable(exc):
                self._mark(up=False)
                logger.warning("could not store %d predictions: database unavailable", len(rows))
                _fail(
                    batch,
                    DatabaseUnavailableError(
                        "The prediction database is unavailable; please retry shortly"
                    ),
                )
            elif len(batch) > 1:
                # The database refused a row (nothing of the batch was committed): one
                # request's rows must not fail the requests written with them, so each is
                # written alone.
                logger.warning("could not store %d predictions together: %s", len(rows), exc)
                for item in batch:
                    await self._write([item])
            else:
                logger.exception("could not store %d predictions", len(rows))
                _fail(batch, exc)
            return
        self._mark(up=True)
        start = 0
        for item_rows, future in batch:
            end = start + len(item_rows)
            if not future.done():
                future.set_result(ids[start:end])
            start = end

    def _mark(self, *, up: bool) -> None:
        if self._up is not up:
            self._up = up
            metrics.DATABASE_UP.set(1 if up else 0)

    @retry(
        retry=retry_if_exception(is_unavailable),
        stop=stop_after_attempt(3) | stop_after_delay(2.0),
        wait=wait_exponential(multiplier=0.05, max=0.5),
        reraise=True,
    )
    def _insert(self, rows: list[Row]) -> list[int]:
        if self._db.engine.dialect.name != "postgresql":
            with self._db.engine.begin() as connection:
                return insert_rows(connection, rows)
        try:
            return insert_rows(self._autocommit_connection(), rows)
        except Exception:
            self._drop_connection(broken=True)  # whatever went wrong, the next try starts afresh
            raise

    def _autocommit_connection(self) -> Connection:
        """The writer's PostgreSQL connection; one idle for a while is checked (by the
        pool's ping) before it is used again."""
        now = time.monotonic()
        if self._connection is not None and now - self._used_at > CONNECTION_IDLE_S:
            self._drop_connection()
        if self._connection is None:
            connection = self._db.engine.connect()
            self._connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        self._used_at = now
        return self._connection

    def _drop_connection(self, *, broken: bool = False) -> None:
        """Give the held connection back to the pool (``broken``: close it for good)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                if broken:
                    connection.invalidate()
                connection.close()
            except Exception:  # a connection already gone is gone
                logger.debug("closing the writer's connection failed", exc_info=True)


def _fail(batch: list[_Item], error: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)


# One statement whose rows travel as one JSON array (one ``orjson`` call here, where binding
# an array per column had the driver turn every value into text in Python, 2.7x the time
# for 32 rows): PostgreSQL unpacks it into typed columns. The ordinality sorts the
# insert; ids come from the sequence in that order, so sorted ids map back. The columns,
# each with its PostgreSQL type; a row's ``input`` is its shot as sent, kept as jsonb.
# Numbers keep their value exactly (JSON carries the shortest text of a double, which
# reads back as the same double); a datetime without an offset is read in the session's
# time zone, as a bound value is.
_POSTGRES_COLUMNS: Final = (
    ("user_id", "integer"),
    ("input", "jsonb"),
    ("probability", "double precision"),
    ("label", "smallint"),
    ("model_version", "text"),
    ("latency_ms", "double precision"),
    ("created_at", "timestamptz"),
    ("purpose", "text"),
    ("game_id", "bigint"),
    ("game_event_id", "integer"),
    ("origin", "text"),
    ("run", "text"),
)
_NAMES: Final = ", ".join(name for name, _ in _POSTGRES_COLUMNS)
_INSERT_POSTGRES: Final = f"""
INSERT INTO predictions ({_NAMES})
SELECT {_NAMES}
FROM ROWS FROM (
    jsonb_to_recordset(%s::jsonb) AS ({", ".join(f"{n} {t}" for n, t in _POSTGRES_COLUMNS)})
) WITH ORDINALITY AS r({_NAMES}, position)
ORDER BY position
RETURNING id
"""


def shot_ids(record: dict[str, Any]) -> tuple[int | None, int | None]:
    """The NBA's game id and game event id of a shot record, when it has both."""
    game, event = record.get("game_id"), record.get("game_event_id")
    if isinstance(game, int) and isinstance(event, int):
        return game, event
    return None, None


def complete(row: Row) -> Row:
    """A row with every column the insert names: the shot's ids from its input, and the
    defaults of an API request."""
    game, event = shot_ids(row["input"])
    return {
        "purpose": PURPOSE_SHOT,
        "game_id": game,
        "game_event_id": event,
        "origin": ORIGIN_API,
        "run": None,
        **row,
    }


def insert_rows(connection: Connection, rows: Sequence[Row]) -> list[int]:
    """Insert prediction rows in one statement; their ids, in the rows' order."""
    if not rows:
        return []
    if connection.dialect.name == "postgresql":
        return _insert_postgres(connection, rows)
    result = connection.execute(_INSERT, [complete(row) for row in rows])
    return [int(row[0]) for row in result]


def _insert_postgres(connection: Connection, rows: Sequence[Row]) -> list[int]:
    records = []
    for row in rows:
        game, event = shot_ids(row["input"])
        records.append(
            {
                "user_id": row["user_id"],
                "input": row["input"],
                "probability": row["probability"],
                "label": row["label"],
                "model_version": row["model_version"],
                "latency_ms": row["latency_ms"],
                "created_at": row["created_at"],
                "purpose": row.get("purpose", PURPOSE_SHOT),
                "game_id": row.get("game_id", game),
                "game_event_id": row.get("game_event_id", event),
                "origin": row.get("origin", ORIGIN_API),
                "run": row.get("run"),
            }
        )
    payload = orjson.dumps(records, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    result = connection.exec_driver_sql(_INSERT_POSTGRES, (payload,))
    return sorted(int(found[0]) for found in result)
