"""Alembic, configured in code: the migrations ship inside the package, no ``alembic.ini``."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from nba_mlops.config import Settings
from nba_mlops.db.session import make_engine

SCRIPT_LOCATION = "nba_mlops.db:migrations"
# Dated file names keep ``versions/`` in creation order.
FILE_TEMPLATE = "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged scripts (and at ``url`` for autogenerate)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("file_template", FILE_TEMPLATE)
    if url:
        config.attributes["url"] = url
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the application database to ``revision`` (idempotent)."""
    engine = make_engine(settings)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def downgrade(settings: Settings, revision: str) -> None:
    engine = make_engine(settings)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


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
