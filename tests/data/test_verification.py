"""Outcomes from the data: the ingest that brings a shot verifies the predictions made of
it, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from nba_mlops.cli import app
from nba_mlops.config import Settings, bundled_sample_path, get_settings
from nba_mlops.data.ingest import ingest_file
from nba_mlops.data.verify import verify_from_store
from nba_mlops.db import migrate
from nba_mlops.db.models import Prediction, User
from nba_mlops.db.session import Database
from nba_mlops.db.verification import (
    OUTCOME,
    OUTCOME_AT,
    OUTCOME_SOURCE,
    verify_shots,
    with_outcomes,
)
from nba_mlops.db.writer import complete, insert_rows
from tests.support.app_db import BACKENDS, database_url


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    with database_url(str(request.param), tmp_path) as url:
        settings = Settings(home=tmp_path / "home", database_url=url)
        settings.ensure_dirs()
        migrate.upgrade(settings)
        yield settings


@pytest.fixture(scope="module")
def day() -> pd.DataFrame:
    """The shots of the sample's last game date, in the sample's own layout."""
    sample = pd.read_csv(bundled_sample_path(), dtype=str, keep_default_na=False)
    last = sample["Game Date"].max()
    return sample[sample["Game Date"] == last].reset_index(drop=True)


def day_file(day: pd.DataFrame, folder: Path, name: str = "day.csv") -> Path:
    path = folder / name
    day.to_csv(path, index=False)
    return path


def record(shot: pd.Series, **ids: Any) -> dict[str, Any]:
    """A request's stored input for one shot of the file."""
    fields = {
        "loc_x": float(shot["X Location"]),
        "loc_y": float(shot["Y Location"]),
        "period": int(shot["Period"]),
        "game_id": int(shot["Game ID"]),
        "game_event_id": int(shot["Game Event ID"]),
    }
    fields.update(ids)
    return {k: v for k, v in fields.items() if v is not None}


def row(record: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {
        "user_id": None,
        "input": record,
        "probability": 0.4,
        "label": 0,
        "model_version": "1",
        "latency_ms": 1.0,
        "created_at": dt.datetime.now(dt.UTC),
        **values,
    }


def store(settings: Settings, rows: list[dict[str, Any]]) -> list[int]:
    """Rows as the API's writer stores them."""
    db = Database(settings)
    try:
        with db.engine.begin() as connection:
            return insert_rows(connection, rows)
    finally:
        db.dispose()


def store_labelled(settings: Settings, rows: list[dict[str, Any]]) -> list[int]:
    """Rows with outcomes already (the writer stores none): through the ORM."""
    db = Database(settings)
    try:
        with db.session() as session:
            predictions = [Prediction(**complete(r)) for r in rows]
            session.add_all(predictions)
            session.commit()
            return [p.id for p in predictions]
    finally:
        db.dispose()


def outcomes(settings: Settings) -> dict[int, tuple[Any, ...]]:
    """Every prediction's outcome, its source and when it was recorded."""
    db = Database(settings)
    try:
        with db.session() as session:
            rows = session.execute(
                with_outcomes(select(Prediction.id, OUTCOME, OUTCOME_SOURCE, OUTCOME_AT))
            ).all()
            return {int(r[0]): tuple(r[1:]) for r in rows}
    finally:
        db.dispose()


def read(settings: Settings) -> dict[int, Prediction]:
    db = Database(settings)
    try:
        with db.session() as session:
            return {p.id: p for p in session.scalars(select(Prediction))}
    finally:
        db.dispose()


def add_labeller(settings: Settings) -> int:
    db = Database(settings)
    try:
        with db.session() as session:
            user = User(username="lab", username_key="lab", password_hash="x", role="labeler")
            session.add(user)
            session.commit()
            return user.id
    finally:
        db.dispose()


def test_the_ingest_of_a_day_verifies_its_predictions_once(
    settings: Settings, day: pd.DataFrame, tmp_path: Path
) -> None:
    made = day["Shot Made Flag"].astype(int)
    shots = [day.iloc[i] for i in range(12)]
    labeller = add_labeller(settings)
    now = dt.datetime.now(dt.UTC)
    person = {"verified_by": labeller, "verified_role": "labeler", "verified_at": now}
    rows = [row(record(s)) for s in shots[:6]]  # plain predictions of the day's shots
    rows.append(row(record(shots[0])))  # a second prediction of the same shot
    rows.append(row(record(shots[6]), purpose="grid"))  # a floor-map cell: never verified
    rows.append(row(record(shots[7], game_id=None, game_event_id=None)))  # no ids
    rows.append(row(record(shots[8], game_event_id=999_999)))  # a shot the file lacks
    ids = store(settings, rows)
    # a person labelled two shots before the data came: one right, one wrong
    labelled = store_labelled(
        settings,
        [
            row(record(shots[9]), verified_outcome=int(made[9]), **person),
            row(record(shots[10]), verified_outcome=1 - int(made[10]), **person),
        ],
    )
    # stored through the path the API uses: the ids come from the input
    assert read(settings)[ids[0]].game_id == int(shots[0]["Game ID"])

    report = ingest_file(settings, day_file(day, tmp_path))

    assert report.verification_error is None
    assert report.predictions_verified == 9
    assert "9 predictions verified from the data" in report.summary()
    known = outcomes(settings)
    for prediction_id, shot in zip(ids[:7], [*shots[:6], shots[0]], strict=True):
        outcome, source, verified_at = known[prediction_id]
        assert (outcome, source) == (int(shot["Shot Made Flag"]), "data")
        assert verified_at is not None
    for untouched in ids[7:]:
        assert known[untouched] == (None, None, None)
    right, wrong = labelled
    for prediction_id, shot in ((right, shots[9]), (wrong, shots[10])):
        # the data's outcome counts; the person's label stays as they gave it
        assert known[prediction_id][:2] == (int(shot["Shot Made Flag"]), "data")
        assert read(settings)[prediction_id].verified_by == labeller
    assert read(settings)[wrong].verified_outcome == 1 - int(made[10])

    again = ingest_file(settings, day_file(day, tmp_path, "again.csv"))

    assert again.predictions_verified == 0 and again.rows_new == 0
    assert outcomes(settings) == known


def test_the_data_outcome_is_never_replaced(settings: Settings, day: pd.DataFrame) -> None:
    shot = day.iloc[0]
    made = int(shot["Shot Made Flag"])
    (prediction_id,) = store(settings, [row(record(shot))])
    db = Database(settings)
    try:
        ids = (int(shot["Game ID"]),), (int(shot["Game Event ID"]),)
        assert verify_shots(db, *ids, (made,)).verified == 1
        # a later file claiming the other outcome for the same shot changes nothing
        assert verify_shots(db, *ids, (1 - made,)).verified == 0
    finally:
        db.dispose()
    assert outcomes(settings)[prediction_id][:2] == (made, "data")


def test_bad_outcomes_are_refused_naming_the_problem(settings: Settings) -> None:
    db = Database(settings)
    try:
        with pytest.raises(ValueError, match="0 \\(missed\\) or 1 \\(made\\)"):
            verify_shots(db, [22300001], [7], [2])
        with pytest.raises(ValueError, match="one of each per shot"):
            verify_shots(db, [22300001, 22300002], [7], [1])
    finally:
        db.dispose()


def test_without_a_database_the_ingest_creates_none(day: pd.DataFrame, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    report = ingest_file(settings, day_file(day, tmp_path))
    assert report.rows_new == len(day) and report.verification_error is None
    assert not (settings.home / "app.db").exists()


def test_a_database_that_does_not_answer_keeps_the_ingest_and_catches_up_later(
    day: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    good = Settings(home=home, database_url=f"sqlite:///{tmp_path / 'app.db'}")
    migrate.upgrade(good)
    shot = day.iloc[3]
    (prediction_id,) = store(good, [row(record(shot))])
    # the same home, its database out of reach (a folder where the file should be)
    (tmp_path / "down").mkdir()
    down = Settings(home=home, database_url=f"sqlite:///{tmp_path / 'down'}")

    report = ingest_file(down, day_file(day, tmp_path))

    assert report.rows_new == len(day)
    assert report.verification_error is not None
    assert "nba-mlops verify" in report.verification_error
    assert outcomes(good)[prediction_id] == (None, None, None)

    monkeypatch.setenv("NBA_MLOPS_HOME", str(home))
    monkeypatch.setenv("DATABASE_URL", good.db_url)
    get_settings.cache_clear()
    try:
        caught_up = CliRunner().invoke(app, ["verify"])
    finally:
        get_settings.cache_clear()

    assert caught_up.exit_code == 0, caught_up.output
    assert "1 prediction verified from the data" in caught_up.output
    again = verify_from_store(good)
    assert again is not None and again.verified == 0 and again.games_asked == 0
    assert outcomes(good)[prediction_id][:2] == (int(shot["Shot Made Flag"]), "data")


def test_only_labels_of_labelers_and_administrators_count_apart_from_the_data(
    settings: Settings, day: pd.DataFrame
) -> None:
    from nba_mlops.monitoring.windows import recently_labelled, recently_verified

    labeller = add_labeller(settings)
    now = dt.datetime.now(dt.UTC)
    shots = [day.iloc[i] for i in range(4)]
    # each label tells itself apart by its probability
    labels = [("user", 0.11), ("labeler", 0.22), ("admin", 0.33), ("labeler", 0.44)]
    store_labelled(
        settings,
        [
            row(record(shot), probability=probability, verified_outcome=1,
                verified_by=labeller, verified_role=role, verified_at=now)
            for shot, (role, probability) in zip(shots, labels, strict=True)
        ],
    )  # fmt: skip
    overtaken = shots[3]  # the data brings this shot's outcome
    made = int(overtaken["Shot Made Flag"])
    db = Database(settings)
    try:
        ids = [int(overtaken["Game ID"])], [int(overtaken["Game Event ID"])]
        assert verify_shots(db, *ids, [made]).verified == 1
        with db.session() as session:
            counted = recently_labelled(session, 100)
            from_data = recently_verified(session, 100)
    finally:
        db.dispose()

    # a normal user's label (of their own prediction) counts nowhere; a labeller's label
    # of a shot the data has verified since gives way to the data's outcome
    assert sorted(counted["probability"]) == [0.22, 0.33]
    assert from_data["probability"].tolist() == [0.44]
    assert from_data["verified_outcome"].tolist() == [made]
