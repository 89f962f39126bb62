"""Scoring shots: raw fields, the original 39-field payload, batches; every answer stored."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from nba_mlops.db.models import Prediction
from tests.support.api_servers import Account, LiveServer
from tests.support.payloads import ORIGINAL_README_PAYLOAD


def stored_input(live: LiveServer, prediction_id: int) -> dict[str, Any]:
    with live.services.db.session() as session:
        row = session.get(Prediction, prediction_id)
        assert row is not None
        return dict(row.input)


def stored_count(live: LiveServer, user_id: int) -> int:
    with live.services.db.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Prediction).where(Prediction.user_id == user_id)
            )
            or 0
        )


def test_a_location_alone_is_enough(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    response = client.post("/predict", json={"loc_x": 0, "loc_y": 10}, headers=account.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"prediction", "probability", "model_version", "prediction_id"}
    assert body["prediction"] in (0, 1)
    assert 0.0 < body["probability"] < 1.0
    assert body["prediction"] == int(body["probability"] >= 0.5)
    assert body["model_version"] == live.services.predictor.current.version
    stored = stored_input(live, body["prediction_id"])
    # documented defaults are filled in and stored with the shot
    assert stored == {
        "loc_x": 0.0,
        "loc_y": 10.0,
        "period": 1,
        "minutes_remaining": 6,
        "seconds_remaining": 0,
        "action_type": "Jump Shot",
        "season_type": "Regular Season",
    }


def test_every_canonical_field_is_accepted(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    shot = {
        "loc_x": -220,
        "loc_y": 40,
        "period": 5,
        "minutes_remaining": 0,
        "seconds_remaining": 59,
        "action_type": "Step Back Jump shot",
        "shot_type": "3PT Field Goal",
        "shot_zone_basic": "Left Corner 3",
        "shot_zone_area": "Left Side(L)",
        "shot_zone_range": "24+ ft.",
        "player_id": 201939,
        "player_name": "Stephen Curry",
        "team_id": 1610612744,
        "team_name": "Golden State Warriors",
        "home_team": "GSW",
        "away_team": "BOS",
        "is_home": True,
        "season_type": "Playoffs",
        "game_date": "2022-06-16",
    }
    response = client.post("/predict", json=shot, headers=account.headers)
    assert response.status_code == 200, response.text
    assert stored_input(live, response.json()["prediction_id"]) == {
        **shot,
        "loc_x": -220.0,
        "loc_y": 40.0,
    }


def test_the_original_39_field_payload_is_mapped(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    response = client.post("/predict", json=ORIGINAL_README_PAYLOAD, headers=account.headers)
    assert response.status_code == 200, response.text
    stored = stored_input(live, response.json()["prediction_id"])
    assert stored == {
        "loc_x": 5.0,
        "loc_y": 10.0,
        "period": 1,
        "minutes_remaining": 10,
        "seconds_remaining": 30,
        "action_type": "Jump Shot",
        "shot_type": "2PT Field Goal",
        # the README's zone one-hots each set two columns: contradictory, so derived
        "season_type": "Playoffs",
        "game_date": "2022-06-11",
    }


def test_original_one_hots_map_to_zones(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    payload = {
        "X_Location": -230,
        "Y_Location": 20,
        "ShotType_3PT_Field_Goal": 1,
        "ShotZoneBasic_Left_Corner_3": 1,
        "ShotZoneArea_Left_Side_L": 1,
        "ShotZoneRange_24_ft": 1,
        "SeasonType_Regular_Season": 1,
    }
    response = client.post("/predict", json=payload, headers=account.headers)
    assert response.status_code == 200, response.text
    stored = stored_input(live, response.json()["prediction_id"])
    assert stored["shot_type"] == "3PT Field Goal"
    assert stored["shot_zone_basic"] == "Left Corner 3"
    assert stored["shot_zone_area"] == "Left Side(L)"
    assert stored["shot_zone_range"] == "24+ ft."
    assert stored["season_type"] == "Regular Season"
    assert "game_date" not in stored


def test_an_impossible_original_date_names_day(client: httpx.Client, account: Account) -> None:
    payload = {"X_Location": 0, "Y_Location": 0, "Year": 2023, "Month": 2, "Day": 30}
    response = client.post("/predict", json=payload, headers=account.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Day"


def test_a_dunk_beats_a_heave(client: httpx.Client, account: Account) -> None:
    dunk = client.post(
        "/predict",
        json={"loc_x": 0, "loc_y": 5, "action_type": "Dunk Shot"},
        headers=account.headers,
    )
    heave = client.post("/predict", json={"loc_x": 0, "loc_y": 600}, headers=account.headers)
    assert dunk.json()["probability"] > heave.json()["probability"]


def test_batch_scores_and_stores_every_shot(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    shots = [{"loc_x": x, "loc_y": 50} for x in range(-200, 201, 10)]
    shots.append(ORIGINAL_README_PAYLOAD)
    response = client.post("/predict/batch", json={"shots": shots}, headers=account.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["predictions"]) == len(shots)
    ids = [p["prediction_id"] for p in body["predictions"]]
    assert len(set(ids)) == len(ids)
    assert all(p["model_version"] == body["model_version"] for p in body["predictions"])
    assert stored_count(live, account.id) == len(shots)
    # answers come back in request order
    assert stored_input(live, ids[0])["loc_x"] == -200.0
    assert stored_input(live, ids[-1])["game_date"] == "2022-06-11"


def test_batch_limits(client: httpx.Client, account: Account) -> None:
    too_many = {"shots": [{"loc_x": 0, "loc_y": 0}] * 1001}
    response = client.post("/predict/batch", json=too_many, headers=account.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "shots"
    empty = client.post("/predict/batch", json={"shots": []}, headers=account.headers)
    assert empty.status_code == 422
    one_bad = {"shots": [{"loc_x": 0, "loc_y": 0}, {"loc_x": 999, "loc_y": 0}]}
    response = client.post("/predict/batch", json=one_bad, headers=account.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "shots[1].loc_x"


def test_a_full_batch_of_1000(client: httpx.Client, live: LiveServer, account: Account) -> None:
    shots = [{"loc_x": (i % 500) - 250, "loc_y": i % 400} for i in range(1000)]
    response = client.post("/predict/batch", json={"shots": shots}, headers=account.headers)
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 1000
    assert stored_count(live, account.id) == 1000


@pytest.mark.slow
def test_concurrent_requests_are_all_answered_and_stored(
    live: LiveServer, account: Account
) -> None:
    def one(i: int) -> int:
        with live.client() as http:
            shot = {"loc_x": (i * 7) % 500 - 250, "loc_y": (i * 13) % 300}
            return http.post("/predict", json=shot, headers=account.headers).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(one, range(400)))
    assert statuses.count(200) == 400
    assert stored_count(live, account.id) == 400
