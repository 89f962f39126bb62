"""Engine and sessions of the application database: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from nba_mlops.config import Settings

# Errors that mean "the database cannot be reached right now", not "this request is wrong".
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (OperationalError, PoolTimeoutError)


class DatabaseUnavailableError(RuntimeError):
    """The application database did not answer; the request may be retried later."""


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgres://`` and ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_unavailable(exc: BaseException) -> bool:
    """True for connection losses, refused connections, lock time-outs and pool exhaustion."""
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def database_exists(settings: Settings) -> bool:
    """False only for a SQLite database whose file is not there yet (checking must not
    create an empty one); a server database is assumed to be there."""
    from pathlib import Path

    url = make_url(normalise_url(settings.db_url))
    if url.get_backend_name() != "sqlite":
        return True
    database = url.database
    return bool(database) and (database == ":memory:" or Path(str(database)).exists())


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(settings: Settings, url: str | None = None) -> Engine:
    """An engine with the pool, time-outs and SQLite pragmas the service relies on."""
    serving = settings.serving
    url = normalise_url(url or settings.db_url)
    backend = make_url(url).get_backend_name()
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "json_serializer": _json_dumps}
    if backend == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": serving.db_timeout_s}
        engine = create_engine(url, **kwargs)
        _install_sqlite_pragmas(engine, busy_timeout_ms=int(serving.db_timeout_s * 1000))
        return engine
    kwargs.update(
        pool_size=serving.db_pool_size,
        max_overflow=serving.db_max_overflow,
        pool_timeout=serving.db_timeout_s,
        pool_recycle=1800,
    )
    if backend == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": max(1, int(serving.db_timeout_s))}
    return create_engine(url, **kwargs)


def _install_sqlite_pragmas(engine: Engine, *, busy_timeout_ms: int) -> None:
    # WAL lets readers run beside the single writer; FULL makes a commit durable, which a
    # 2xx answer promises. The batched writer keeps the cost of that fsync per batch.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        finally:
            cursor.close()


class Database:
    """One engine and its session factory, shared by a process."""

    def __init__(self, settings: Settings, url: str | None = None) -> None:
        self.engine = make_engine(settings, url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that rolls back on error and always closes."""
        with self.sessions() as session:
            yield session

    def ping(self) -> bool:
        """True when a trivial query succeeds now."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()
