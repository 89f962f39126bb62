"""The migrations shipped in the package build exactly the ORM schema, up and down."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from nba_mlops.config import Settings
from nba_mlops.db import migrate
from nba_mlops.db.models import Base
from nba_mlops.db.session import make_engine


def _assert_at_head_with_the_models_schema(settings: Settings) -> None:
    assert migrate.current_revision(settings) == migrate.head_revision()
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_matches_the_models_and_downgrade_removes_them(
    database_url: str, tmp_path_factory: object
) -> None:
    settings = Settings(database_url=database_url)
    migrate.upgrade(settings)
    _assert_at_head_with_the_models_schema(settings)
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

    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from tests.support.api_servers import postgres_database

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


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_usernames_that_differ_only_in_case_are_reported_not_lost(
    kind: str, tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    from pathlib import Path

    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from nba_mlops.auth.passwords import hash_password
    from nba_mlops.auth.users import authenticate, clashing_users
    from nba_mlops.db.session import Database
    from tests.support.api_servers import postgres_database

    names = ["bob_p", "alice", "BOB_P", "Bob_P"]  # ids 1-4, as the API once allowed

    def run(url: str) -> None:
        settings = Settings(home=Path(str(tmp_path)), database_url=url)
        migrate.upgrade(settings, "0003")
        engine = make_engine(settings)
        insert = text(
            "INSERT INTO users (username, password_hash, role, disabled, created_at) "
            "VALUES (:name, :hash, 'user', false, CURRENT_TIMESTAMP)"
        )
        try:
            with engine.begin() as connection:
                for name in names:
                    connection.execute(
                        insert, {"name": name, "hash": hash_password(f"pw of {name}")}
                    )
            with caplog.at_level(logging.WARNING, logger="nba_mlops.db.migrations"):
                migrate.upgrade(settings)
            reported = "\n".join(r.getMessage() for r in caplog.records)
            assert "'bob_p', 'BOB_P', 'Bob_P'" in reported
            assert "'BOB_P' (id 3), 'Bob_P' (id 4)" in reported
            with engine.begin() as connection:
                keys = dict(
                    connection.execute(text("SELECT username, username_key FROM users")).all()
                )
                versions = set(
                    connection.execute(text("SELECT token_version FROM users")).scalars()
                )
            assert keys == {
                "bob_p": "bob_p",
                "alice": "alice",
                "BOB_P": "bob_p#3",
                "Bob_P": "bob_p#4",
            }
            assert versions == {0}
            db = Database(settings)
            try:
                with db.session() as session:
                    assert [u.username for u in clashing_users(session)] == ["BOB_P", "Bob_P"]
                    # Every account still logs in by its exact name; other spellings reach
                    # the oldest account.
                    for name in names:
                        user = authenticate(session, name, f"pw of {name}")
                        assert user is not None and user.username == name
                    assert authenticate(session, "bOb_P", "pw of bob_p") is not None
                    assert authenticate(session, "bOb_P", "pw of BOB_P") is None
            finally:
                db.dispose()
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO users (username, username_key, password_hash, role, "
                        "disabled, created_at) VALUES ('ALICE', 'alice', 'x', 'user', false, "
                        "CURRENT_TIMESTAMP)"
                    )
                )
            migrate.downgrade(settings, "0003")
            with engine.begin() as connection:
                columns = {c["name"] for c in inspect(connection).get_columns("users")}
                assert {"username_key", "token_version"}.isdisjoint(columns)
                assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 4
        finally:
            engine.dispose()

    if kind == "sqlite":
        run(f"sqlite:///{Path(str(tmp_path)) / 'old.db'}")
    else:
        with postgres_database("nba_migration_test") as url:
            run(url)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_stored_shot_ids_and_labellers_roles_are_filled_in(kind: str, tmp_path: object) -> None:
    from pathlib import Path

    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from tests.support.api_servers import postgres_database

    def run(url: str) -> None:
        settings = Settings(home=Path(str(tmp_path)), database_url=url)
        migrate.upgrade(settings, "0004")
        engine = make_engine(settings)
        insert = text(
            "INSERT INTO predictions (input, probability, label, model_version, created_at, "
            "verified_outcome, verified_by) VALUES (:input, 0.4, 0, '3', CURRENT_TIMESTAMP, "
            ":outcome, :by)"
        )
        try:
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO users (username, username_key, password_hash, role, "
                        "disabled, created_at) VALUES ('chief', 'chief', 'x', 'admin', false, "
                        "CURRENT_TIMESTAMP)"
                    )
                )
                for record, outcome, by in (
                    ('{"loc_x": 1, "game_id": 22300061, "game_event_id": 7}', 1, 1),
                    ('{"loc_x": 2, "game_id": "x", "game_event_id": 7}', None, None),
                    ('{"loc_x": 3}', None, None),
                ):
                    connection.execute(insert, {"input": record, "outcome": outcome, "by": by})
            migrate.upgrade(settings)
            with engine.begin() as connection:
                rows = connection.execute(
                    text(
                        "SELECT game_id, game_event_id, verified_role, origin FROM predictions "
                        "ORDER BY id"
                    )
                ).all()
                assert [tuple(r) for r in rows] == [
                    (22300061, 7, "admin", "api"),
                    (None, None, None, "api"),
                    (None, None, None, "api"),
                ]
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(text("UPDATE users SET role = 'boss'"))
            with engine.begin() as connection:
                connection.execute(text("UPDATE users SET role = 'labeler'"))
            migrate.downgrade(settings, "0004")
            with engine.begin() as connection:
                assert connection.execute(text("SELECT role FROM users")).scalar() == "user"
                assert connection.execute(text("SELECT count(*) FROM predictions")).scalar() == 3
        finally:
            engine.dispose()

    if kind == "sqlite":
        run(f"sqlite:///{Path(str(tmp_path)) / 'old.db'}")
    else:
        with postgres_database("nba_migration_test") as url:
            run(url)


def _upgrade_at_the_signal(url: str, home: str, start: Any) -> None:
    start.wait(timeout=60)
    migrate.upgrade(Settings(home=Path(home), database_url=url))


@pytest.mark.postgres
def test_replicas_starting_together_migrate_an_empty_database_once(tmp_path: Path) -> None:
    """Four processes upgrade one empty PostgreSQL database at the same moment: each
    waits for the advisory lock, the first builds the schema, the others find it at head,
    and every one of them succeeds."""
    from tests.support.api_servers import postgres_database

    spawn = multiprocessing.get_context("spawn")
    with postgres_database("nba_migrate_race") as url:
        start = spawn.Barrier(4)
        replicas = [
            spawn.Process(target=_upgrade_at_the_signal, args=(url, str(tmp_path), start))
            for _ in range(4)
        ]
        for replica in replicas:
            replica.start()
        for replica in replicas:
            replica.join(timeout=120)
        codes = [replica.exitcode for replica in replicas]
        assert codes == [0, 0, 0, 0], f"replica exit codes {codes}"
        _assert_at_head_with_the_models_schema(Settings(home=tmp_path, database_url=url))


@pytest.mark.postgres
def test_a_migration_waits_while_another_holds_the_lock(tmp_path: Path) -> None:
    from sqlalchemy import text

    from tests.support.api_servers import postgres_database

    spawn = multiprocessing.get_context("spawn")
    with postgres_database("nba_migrate_wait") as url:
        settings = Settings(home=tmp_path, database_url=url)
        engine = make_engine(settings)
        try:
            with engine.connect() as holder:
                holder.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": migrate.MIGRATION_LOCK_KEY}
                )
                start = spawn.Barrier(1)
                waiting = spawn.Process(
                    target=_upgrade_at_the_signal, args=(url, str(tmp_path), start)
                )
                waiting.start()
                waiting.join(timeout=15)
                assert waiting.is_alive(), "the migration ran while the lock was held"
                assert migrate.current_revision(settings) is None
                holder.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": migrate.MIGRATION_LOCK_KEY}
                )
                waiting.join(timeout=120)
                assert waiting.exitcode == 0
        finally:
            engine.dispose()
        assert migrate.current_revision(settings) == migrate.head_revision()
