"""Alembic, configured in code: the migrations ship inside the package, no ``alembic.ini``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from nba_mlops.config import Settings
from nba_mlops.db.locks import lock_key
from nba_mlops.db.session import Database, make_engine

SCRIPT_LOCATION = "nba_mlops.db:migrations"
# Dated file names keep ``versions/`` in creation order.
FILE_TEMPLATE = "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s"
# The PostgreSQL advisory lock every migration holds, keyed as the other single-flight
# locks are (db.locks): replicas that start together against one database take turns,
# and each after the first finds the schema at head and changes nothing.
MIGRATION_LOCK_KEY = lock_key("migrations")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged scripts (and at ``url`` for autogenerate)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("file_template", FILE_TEMPLATE)
    if url:
        config.attributes["url"] = url
    return config


@contextmanager
def _migrating(settings: Settings) -> Iterator[Connection]:
    """A connection in a transaction for Alembic.

    On SQLite, foreign keys are off while migrating (and checked after): SQLite changes a
    table's constraints by copying it into a new table and dropping the old one, and with
    foreign keys on, dropping ``users`` would fire ``ON DELETE SET NULL`` on every
    prediction's ``user_id`` and ``verified_by``. The pragma only takes effect outside a
    transaction, hence here and not in the migration.
    """
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()  # end the autobegun transaction: Alembic begins its own
            try:
                with connection.begin():
                    if connection.dialect.name == "postgresql":
                        connection.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"),
                            {"key": MIGRATION_LOCK_KEY},
                        )
                    yield connection
                    if sqlite:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
            finally:
                if sqlite:
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()
    finally:
        engine.dispose()


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the application database to ``revision`` (idempotent)."""
    with _migrating(settings) as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def migrated_database(settings: Settings) -> Iterator[Database]:
    """The application database of ``settings``, brought to the latest schema first;
    its engine is disposed of when the block ends."""
    upgrade(settings)
    db = Database(settings)
    try:
        yield db
    finally:
        db.dispose()


def downgrade(settings: Settings, revision: str) -> None:
    with _migrating(settings) as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(settings: Settings) -> str | None:
    """The revision the database is at, ``None`` when it was never migrated."""
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
