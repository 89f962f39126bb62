"""Application databases for tests outside ``tests/api``: a SQLite file or a fresh
database on the real PostgreSQL at 127.0.0.1:5432, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.support.prerequisites import missing

PG_ADMIN_URL = os.environ.get(
    "NBA_MLOPS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", pytest.param("postgres", marks=pytest.mark.postgres))


@contextmanager
def database_url(backend: str, folder: Path) -> Iterator[str]:
    """A URL of an empty database of ``backend`` (``sqlite`` or ``postgres``)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'app.db'}"
        return
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        missing("PostgreSQL", f"{PG_ADMIN_URL} is unreachable: {exc}")
    name = f"nba_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
