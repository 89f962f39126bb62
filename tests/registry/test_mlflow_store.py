"""The embedded MLflow database, created in one go (registry.client.create_local_store), has
the schema MLflow creates itself and MLflow uses it as its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from mlflow import MlflowClient
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

from nba_mlops.config import Settings
from nba_mlops.registry import Registry
from nba_mlops.registry import client as registry


def _schema(database: Path) -> dict[str, Any]:
    """Every table's columns, keys, indexes and constraints, and the migration it is at
    (as sets: MLflow itself writes a table's constraints in no fixed order)."""
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        inspector = sa.inspect(engine)
        schema: dict[str, Any] = {}
        for table in inspector.get_table_names():
            schema[table] = (
                {(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)},
                tuple(inspector.get_pk_constraint(table)["constrained_columns"]),
                {repr(sorted(k.items())) for k in inspector.get_foreign_keys(table)},
                {repr(sorted(i.items())) for i in inspector.get_indexes(table)},
                {repr(sorted(u.items())) for u in inspector.get_unique_constraints(table)},
                {repr(sorted(c.items())) for c in inspector.get_check_constraints(table)},
            )
        with engine.connect() as connection:
            schema["revision"] = connection.execute(
                sa.text("SELECT version_num FROM alembic_version")
            ).all()
        return schema
    finally:
        engine.dispose()


def test_the_store_has_mlflows_own_schema(tmp_path: Path) -> None:
    ours = tmp_path / "ours" / "mlflow.db"
    ours.parent.mkdir()
    registry.create_local_store(ours)
    theirs = tmp_path / "theirs.db"
    SqlAlchemyStore(f"sqlite:///{theirs}", (tmp_path / "artifacts").as_uri())
    assert _schema(ours) == _schema(theirs)
    assert [p.name for p in ours.parent.iterdir()] == ["mlflow.db"]  # nothing half-made left


def test_an_existing_store_is_left_as_it_is(tmp_path: Path) -> None:
    database = tmp_path / "mlflow.db"
    database.write_bytes(b"not touched")
    registry.create_local_store(database)
    assert database.read_bytes() == b"not touched"


def test_mlflow_records_runs_and_models_in_it(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    store = Registry(settings)
    with store.training_run("a run", {"purpose": "test"}) as run_id:
        assert (settings.mlflow_dir / "mlflow.db").exists()
    store.ensure_registered_model()
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    client.log_metric(run_id, "log_loss", 0.65)
    assert client.get_run(run_id).data.metrics == {"log_loss": 0.65}
    assert client.get_run(run_id).data.tags["purpose"] == "test"
    assert client.get_registered_model(settings.model_name).name == settings.model_name
