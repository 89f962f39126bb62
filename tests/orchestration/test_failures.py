"""Failures: a refused overlapping training, a corrupt incoming file and a crash inside
training leave the store and the champion as they were and are not retried; a transient
failure is retried with back-off."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from nba_mlops.config import Settings, bundled_sample_path
from nba_mlops.data.store import ShotStore
from nba_mlops.training.lock import TrainingInProgressError, training_lock
from tests.support.orchestration import (
    champion_of,
    failure_messages,
    install_weak_champion,
    materialize,
    quick_training,
    retries,
)


def test_the_training_lock_holds_within_one_process(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    refused: list[BaseException] = []

    def second_training() -> None:
        try:
            with training_lock(settings):
                pass
        except TrainingInProgressError as exc:
            refused.append(exc)

    with training_lock(settings, owner="first"):
        thread = threading.Thread(target=second_training)
        thread.start()
        thread.join()
        with pytest.raises(TrainingInProgressError, match="first"), training_lock(settings):
            pass
    assert len(refused) == 1 and "another training run is in progress" in str(refused[0])
    with training_lock(settings):  # free again once the holder is done
        pass


def test_an_overlapping_training_run_is_refused_and_not_retried(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    with training_lock(settings, owner="dagster run earlier"):
        result = materialize(settings, ["candidate_model"])
    assert not result.success
    (message,) = failure_messages(result)
    assert "another training run is in progress" in message
    assert "dagster run earlier" in message and "refused" in message
    assert retries(result) == 0


def test_a_corrupt_incoming_file_fails_ingestion_and_changes_nothing(
    fresh_trained_settings: Settings,
) -> None:
    settings = fresh_trained_settings
    store = ShotStore(settings)
    before, champion = store.data_version(), champion_of(settings)
    corrupt = settings.incoming_dir / "shots_2023-04-10.csv"
    corrupt.write_bytes(b"Game ID,Game Event ID\n<<<<<<< HEAD\n\x00\x01\x02 binary\n")

    result = materialize(settings, ["shot_store"])

    assert not result.success
    (message,) = failure_messages(result)
    assert "1 incoming file(s) refused" in message and corrupt.name in message
    assert retries(result) == 0
    refused = settings.incoming_dir / "refused"
    assert (refused / corrupt.name).is_file()
    assert (refused / f"{corrupt.name}.reason.txt").is_file()
    after = store.data_version()
    assert (after.hash, after.rows) == (before.hash, before.rows)
    assert champion_of(settings) == champion


def test_the_good_files_are_ingested_past_a_refused_one(tmp_path: Path) -> None:
    """The asset shares the ingest of every caller: the good incoming file is stored
    even though an earlier one is refused; the step then fails naming the refused file."""
    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    bad = settings.incoming_dir / "a_merge.csv"
    bad.write_text("<<<<<<< HEAD\nGame ID\n=======\n>>>>>>> main\n", encoding="utf-8")
    good = settings.incoming_dir / "b_shots.csv"
    sample = pd.read_csv(bundled_sample_path(), dtype=str, keep_default_na=False, nrows=200)
    sample.to_csv(good, index=False)

    result = materialize(settings, ["shot_store"])

    assert not result.success
    (message,) = failure_messages(result)
    assert "1 incoming file(s) refused" in message and bad.name in message
    assert "conflict markers" in message
    assert retries(result) == 0
    assert (settings.incoming_dir / "refused" / bad.name).is_file()
    assert (settings.incoming_dir / "processed" / good.name).is_file()
    assert ShotStore(settings).data_version().rows == 200


@pytest.mark.slow
def test_a_crash_inside_training_keeps_the_champion_and_the_store(
    fresh_trained_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick_training(monkeypatch)
    settings = fresh_trained_settings
    weak = install_weak_champion(settings)  # so a finished run would certainly promote
    before = ShotStore(settings).data_version()

    def broken_upload(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the artifact store rejected the upload")

    monkeypatch.setattr("nba_mlops.training.train._log_candidate", broken_upload)
    result = materialize(settings, ["candidate_model", "promotion_decision"])

    assert not result.success
    (message,) = failure_messages(result)
    assert "training failed: the artifact store rejected the upload" in message
    assert retries(result) == 0, "a deterministic failure must not be retried"
    assert champion_of(settings) == weak
    assert ShotStore(settings).data_version().hash == before.hash
    with training_lock(settings):  # released by the failed run
        pass


def test_a_transient_failure_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nba_mlops.data import simulate

    settings = Settings(home=tmp_path / "home")
    real = simulate.simulate_next_batch
    calls: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("the shared drive did not answer")
        return real(*args, **kwargs)

    monkeypatch.setattr("nba_mlops.daily.simulate_next_batch", flaky)  # where the day is carved
    result = materialize(settings, ["incoming_batch"])

    assert result.success
    assert retries(result) == 1 and len(calls) == 2
    (event,) = result.get_asset_materialization_events()
    delivered = Path(str(event.materialization.metadata["path"].value))
    assert delivered.parent == settings.incoming_dir and delivered.is_file()


def test_only_network_and_database_failures_count_as_transient() -> None:
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, TEMPORARILY_UNAVAILABLE
    from sqlalchemy.exc import OperationalError

    from nba_mlops.orchestration.failures import is_transient

    assert is_transient(ConnectionError("refused"))
    assert is_transient(TimeoutError())
    assert is_transient(OperationalError("SELECT 1", {}, Exception("server closed")))
    assert is_transient(MlflowException("busy", error_code=TEMPORARILY_UNAVAILABLE))
    wrapped = ValueError("reading failed")
    wrapped.__cause__ = ConnectionResetError()
    assert is_transient(wrapped)
    try:  # how MLflow reports a tracking server it cannot reach
        try:
            raise ConnectionRefusedError("connection refused")
        except ConnectionRefusedError:
            raise MlflowException("API request to http://mlflow:5000 failed")  # noqa: B904
    except MlflowException as unreachable:
        assert is_transient(unreachable)
    assert not is_transient(MlflowException("no such model", error_code=RESOURCE_DOES_NOT_EXIST))
    assert not is_transient(MlflowException("a bug somewhere"))
    assert not is_transient(ValueError("time split needs two seasons"))
    assert not is_transient(TrainingInProgressError("busy"))
    assert not is_transient(dg.DagsterError("definition problem"))
