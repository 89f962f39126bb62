"""The migrations shipped in the package build exactly the ORM schema, up and down."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from nba_mlops.config import Settings
from nba_mlops.db import migrate
from nba_mlops.db.models import Base
from nba_mlops.db.session import make_engine


def test_upgrade_matches_the_models_and_downgrade_removes_them(
    database_url: str, tmp_path_factory: object
) -> None:
    settings = Settings(database_url=database_url)
    migrate.upgrade(settings)
    assert migrate.current_revision(settings) == migrate.head_revision()
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
    migrate.upgrade(settings)  # again: nothing to do
    assert migrate.current_revision(settings) == migrate.head_revision()


def test_downgrade_to_base_and_back(tmp_path: object) -> None:
    from pathlib import Path

    home = Path(str(tmp_path))
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'scratch.db'}")
    migrate.upgrade(settings)
    migrate.downgrade(settings, "base")
    engine = make_engine(settings)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    migrate.upgrade(settings)
    assert migrate.current_revision(settings) == migrate.head_revision()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_predictions_stored_before_purposes_existed_become_shots(
    kind: str, tmp_path: object
) -> None:
    from pathlib import Path

    from api_servers import postgres_database
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    def run(url: str) -> None:
        settings = Settings(home=Path(str(tmp_path)), database_url=url)
        migrate.upgrade(settings, "0001")
        engine = make_engine(settings)
        insert = (
            "INSERT INTO predictions (input, probability, label, model_version, created_at) "
            "VALUES ('{}', 0.4, 0, '3', CURRENT_TIMESTAMP)"
        )
        try:
            with engine.begin() as connection:
                connection.execute(text(insert))
            migrate.upgrade(settings)
            with engine.begin() as connection:
                assert connection.execute(text("SELECT purpose FROM predictions")).scalar() == (
                    "shot"
                )
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(text("UPDATE predictions SET purpose = 'guess'"))
            migrate.downgrade(settings, "0001")
            with engine.begin() as connection:
                columns = {c["name"] for c in inspect(connection).get_columns("predictions")}
                assert "purpose" not in columns
                assert connection.execute(text("SELECT count(*) FROM predictions")).scalar() == 1
        finally:
            engine.dispose()

    if kind == "sqlite":
        run(f"sqlite:///{Path(str(tmp_path)) / 'old.db'}")
    else:
        with postgres_database("nba_migration_test") as url:
            run(url)
