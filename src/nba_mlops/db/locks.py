"""Single-flight locks that hold across hosts when the application database is PostgreSQL.

A lock is taken without waiting: the second taker is refused with the name of the holder.

- **PostgreSQL** (``DATABASE_URL`` names a PostgreSQL database): a session-level advisory
  lock (``pg_try_advisory_lock``) on a connection of its own, held for the block. Every
  host that reaches the database sees it. The holder is named through its session's
  ``application_name`` (its process id, the owner and, when it fits in PostgreSQL's 63
  bytes, its host name), the session's client address and start time, read back from
  ``pg_locks`` and ``pg_stat_activity`` by whoever is refused. PostgreSQL drops the lock
  with the session: when the holder exits, is killed, or its host stops answering TCP
  keepalives (about a minute).
- **Otherwise** (the embedded SQLite default): an ``flock`` on a file under the data
  directory, which holds between the processes of one host; the holder writes its
  description into the file, and the kernel drops the lock if the holder dies.

In both cases a second attempt is refused even from another thread of the same process
(each attempt has its own connection or open file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from nba_mlops.config import Settings
from nba_mlops.db.session import DatabaseUnavailableError, normalise_url

#: PostgreSQL keeps at most this many bytes of ``application_name`` (NAMEDATALEN - 1).
APPLICATION_NAME_LIMIT = 63
#: Seconds before PostgreSQL probes a silent client, between probes, and probes lost before
#: it ends the session (and so releases its locks): a vanished host frees a lock in ~1 min.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3}  # fmt: skip


class LockHeldError(RuntimeError):
    """Someone else holds the lock; ``holder`` describes them (``unknown holder`` if gone)."""

    def __init__(self, name: str, holder: str, where: str) -> None:
        super().__init__(f"{name} is held by {holder} ({where})")
        self.name = name
        self.holder = holder
        self.where = where


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for ``name``."""
    digest = hashlib.blake2b(f"nba-mlops:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def postgres_conninfo(settings: Settings) -> str | None:
    """The libpq URL of the application database when it is PostgreSQL, else None."""
    if not settings.database_url:
        return None
    url = make_url(normalise_url(settings.database_url))
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _describe(owner: str) -> str:
    """``pid N, <owner>`` as the file lock writes it, ``on <host>`` when there is room."""
    described = f"pid {os.getpid()}{f', {owner}' if owner else ''}"
    with_host = f"{described} on {socket.gethostname()}"
    return with_host if len(with_host.encode()) <= APPLICATION_NAME_LIMIT else described


def _clip(text: str) -> str:
    """Keep to PostgreSQL's ``application_name`` length, counted in bytes."""
    return text.encode()[:APPLICATION_NAME_LIMIT].decode(errors="ignore")


@contextlib.contextmanager
def single_flight(
    settings: Settings, name: str, lock_file: Path, owner: str = ""
) -> Iterator[None]:
    """Hold lock ``name`` for the block, or raise :class:`LockHeldError` at once.

    PostgreSQL's advisory lock when the application database is PostgreSQL, the file
    lock ``lock_file`` otherwise (see the module's doc).
    """
    conninfo = postgres_conninfo(settings)
    if conninfo is None:
        with _file_lock(name, lock_file, owner):
            yield
    else:
        with _advisory_lock(name, conninfo, owner):
            yield


@contextlib.contextmanager
def _advisory_lock(name: str, conninfo: str, owner: str) -> Iterator[None]:
    import psycopg
    from psycopg.conninfo import make_conninfo

    key = lock_key(name)
    try:
        connection = psycopg.connect(
            make_conninfo(
                conninfo, connect_timeout=10, application_name=_clip(_describe(owner)), **KEEPALIVES
            ),
            autocommit=True,
        )
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatabaseUnavailableError(
            f"the {name} lock needs the application database (DATABASE_URL), which did not "
            f"answer: {reason}"
        ) from error
    try:
        taken = connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if not (taken and taken[0]):
            raise LockHeldError(name, _advisory_holder(connection, key), "PostgreSQL advisory lock")
        try:
            yield
        finally:
            with contextlib.suppress(psycopg.Error):  # a lost session released it already
                connection.execute("SELECT pg_advisory_unlock(%s)", (key,))
    finally:
        connection.close()


def _advisory_holder(connection: Any, key: int) -> str:
    """``<application_name>, since <session start>`` of the session holding ``key``."""
    # A bigint key is stored as classid (high 32 bits) and objid (low 32 bits), objsubid 1.
    row = connection.execute(
        "SELECT a.application_name, a.backend_start, host(a.client_addr) "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.classid::bigint = ((%s::bigint >> 32) & 4294967295) "
        "AND l.objid::bigint = (%s::bigint & 4294967295) LIMIT 1",
        (key, key),
    ).fetchone()
    if row is None:  # released between the attempt and this look
        return "unknown holder"
    application, since, address = row
    holder = application or "a session without a name"
    if address:
        holder += f" from {address}"
    if since is not None:
        holder += f", since {since.astimezone(dt.UTC).isoformat(timespec='seconds')}"
    return str(holder)


@contextlib.contextmanager
def _file_lock(name: str, path: Path, owner: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = path.read_text(encoding="utf-8").strip() or "unknown holder"
            raise LockHeldError(name, holder, f"lock: {path}") from None
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}{f', {owner}' if owner else ''}, since {since}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()
