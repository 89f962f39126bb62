"""The orchestrator's daily new data predicts before it learns: the day's shots are scored
and stored before the file reaches the incoming folder, and its ingest verifies them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from nba_mlops.config import Settings
from nba_mlops.data.store import ShotStore, shot_keys
from tests.support.daily import cut_last_days, daily_predictions, last_game_dates, outcomes
from tests.support.orchestration import champion_of, materialize

pytestmark = pytest.mark.slow


def test_the_days_shots_are_scored_before_their_ingest_verifies_them(
    fresh_trained_settings: Settings, tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    settings = fresh_trained_settings
    source = cut_last_days(settings, 2, tmp_path)
    champion = champion_of(settings)

    delivered = materialize(
        settings, ["incoming_batch"], instance=instance, simulation_source=str(source)
    )

    assert delivered.success
    (event,) = delivered.get_asset_materialization_events()
    metadata = event.materialization.metadata
    path = Path(metadata["path"].value)
    assert path.parent == settings.incoming_dir and path.is_file()  # released once scored
    assert not any((settings.incoming_dir / ".staging").glob("*"))
    day = pd.read_csv(path)
    assert day["Game Date"].astype(str).unique().tolist() == last_game_dates(2)[:1]
    predictions = daily_predictions(settings)
    assert metadata["predictions_stored"].value == len(predictions) == len(day)
    assert metadata["scored_by"].value == str(champion)
    assert {(p.run, p.model_version, p.user_id) for p in predictions} == {
        (path.name, str(champion), None)
    }
    known = outcomes(settings)
    assert all(known[p.id][0] is None for p in predictions)
    keys = shot_keys([p.game_id for p in predictions], [p.game_event_id for p in predictions])
    expected = shot_keys(day["Game ID"], day["Game Event ID"])
    assert np.array_equal(np.sort(keys), np.sort(expected))
    assert not np.isin(keys, ShotStore(settings).key_array()).any()  # not stored yet

    ingested = materialize(settings, ["shot_store"], instance=instance)

    assert ingested.success
    (event,) = ingested.get_asset_materialization_events()
    assert event.materialization.metadata["predictions_verified"].value == len(day)
    made = dict(zip(expected.tolist(), day["Shot Made Flag"].tolist(), strict=True))
    known = outcomes(settings)
    for prediction, key in zip(daily_predictions(settings), keys.tolist(), strict=True):
        outcome, origin, verified_at = known[prediction.id]
        assert (outcome, origin) == (made[key], "data")
        assert isinstance(verified_at, dt.datetime)
        assert prediction.created_at.replace(tzinfo=None) < verified_at.replace(tzinfo=None)

    # a second delivery scores the next day; nothing of the first is scored again
    again = materialize(
        settings, ["incoming_batch"], instance=instance, simulation_source=str(source)
    )
    assert again.success
    runs = {p.run for p in daily_predictions(settings)}
    assert len(runs) == 2 and len(daily_predictions(settings)) > len(day)
