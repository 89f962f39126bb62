"""Verifying predictions, with the original project's request and answer shapes: who
may label what, and the data's outcome above a person's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from nba_mlops.auth.users import create_user
from nba_mlops.db.models import Prediction
from nba_mlops.db.verification import verify_shots
from tests.support.api_servers import PASSWORD, Account, LiveServer, unique_name


def predict(client: httpx.Client, account: Account, **fields: Any) -> int:
    shot = {"loc_x": 30, "loc_y": 40, **fields}
    response = client.post("/predict", json=shot, headers=account.headers)
    assert response.status_code == 200
    return int(response.json()["prediction_id"])


def verify(
    client: httpx.Client, account: Account, prediction_id: int, value: int
) -> httpx.Response:
    body = {"prediction_id": prediction_id, "true_value": value}
    return client.post("/verify_random_prediction", json=body, headers=account.headers)


def account_with_role(client: httpx.Client, live: LiveServer, role: str) -> Account:
    name = unique_name(role)
    with live.services.db.session() as session:
        user = create_user(session, name, PASSWORD, role=role)
        user_id = user.id
    token = client.post("/login", data={"username": name, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return Account(user_id, name, PASSWORD, token.json()["access_token"])


def stored(live: LiveServer, prediction_id: int) -> Prediction:
    with live.services.db.session() as session:
        row = session.get(Prediction, prediction_id)
        assert row is not None
        return row


def test_get_a_random_unverified_prediction(client: httpx.Client, account: Account) -> None:
    predict(client, account)
    response = client.get("/verify_random_prediction", headers=account.headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "prediction_id",
        "model_prediction",
        "probability",
        "date_time",
        "input_parameters",
    }
    assert body["model_prediction"] in (0, 1)
    assert "loc_x" in body["input_parameters"]
    assert body["date_time"].endswith(("Z", "+00:00"))


def test_verify_then_refuse_a_second_verification(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    prediction_id = predict(client, account)
    body = {"prediction_id": prediction_id, "true_value": 1}
    response = client.post("/verify_random_prediction", json=body, headers=account.headers)
    assert response.status_code == 200
    assert response.json() == {"message": f"Prediction_id:{prediction_id} verified successfully"}
    with live.services.db.session() as session:
        row = session.get(Prediction, prediction_id)
        assert row is not None
        assert row.verified_outcome == 1 and row.verified_by == account.id
        assert row.verified_at is not None
    again = client.post("/verify_random_prediction", json=body, headers=account.headers)
    assert again.status_code == 409
    assert "already verified" in again.json()["detail"]


def test_unknown_prediction_is_404(client: httpx.Client, account: Account) -> None:
    body = {"prediction_id": 9_000_000_000, "true_value": 0}
    response = client.post("/verify_random_prediction", json=body, headers=account.headers)
    assert response.status_code == 404
    assert "9000000000" in response.json()["detail"]


def test_nothing_left_to_verify_is_404(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    with live.services.db.session() as session:
        session.execute(
            update(Prediction)
            .where(Prediction.verified_outcome.is_(None))
            .values(verified_outcome=0)
        )
        session.commit()
    response = client.get("/verify_random_prediction", headers=account.headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "No unverified predictions left"}
    predict(client, account)
    assert client.get("/verify_random_prediction", headers=account.headers).status_code == 200


def test_a_user_verifies_only_their_own_predictions(
    client: httpx.Client, live: LiveServer, make_account: Callable[[], Account]
) -> None:
    owner, other = make_account(), make_account()
    prediction_id = predict(client, owner, game_id=22300061, game_event_id=7)
    assert stored(live, prediction_id).game_id == 22300061  # stored with its ids, indexed
    # the other user is not offered it, and cannot verify it
    assert client.get("/verify_random_prediction", headers=other.headers).status_code == 404
    refused = verify(client, other, prediction_id, 1)
    assert refused.status_code == 403
    assert "only your own" in refused.json()["detail"]
    assert stored(live, prediction_id).verified_outcome is None
    # the owner still can, with the original request and answer
    offered = client.get("/verify_random_prediction", headers=owner.headers)
    assert offered.status_code == 200 and offered.json()["prediction_id"] == prediction_id
    assert verify(client, owner, prediction_id, 1).status_code == 200
    row = stored(live, prediction_id)
    assert (row.verified_outcome, row.verified_by, row.verified_role) == (1, owner.id, "user")
    (item,) = [
        i
        for i in client.get("/predictions", headers=owner.headers).json()["items"]
        if i["prediction_id"] == prediction_id
    ]
    assert (item["verified_outcome"], item["outcome_source"]) == (1, "user")


@pytest.mark.parametrize("role", ["labeler", "admin"])
def test_labelers_and_administrators_verify_anyones(
    client: httpx.Client, live: LiveServer, account: Account, role: str
) -> None:
    prediction_id = predict(client, account)
    labeller = account_with_role(client, live, role)
    offered = client.get("/verify_random_prediction", headers=labeller.headers)
    assert offered.status_code == 200
    assert verify(client, labeller, prediction_id, 0).status_code == 200
    row = stored(live, prediction_id)
    assert (row.verified_outcome, row.verified_by, row.verified_role) == (0, labeller.id, role)
    # and the daily loop's predictions, which belong to nobody
    with live.services.db.session() as session:
        session.execute(
            update(Prediction)
            .where(Prediction.id == prediction_id)
            .values(user_id=None, verified_outcome=None, verified_by=None, verified_role=None)
        )
        session.commit()
    assert verify(client, labeller, prediction_id, 1).status_code == 200
    assert verify(client, account, prediction_id, 1).status_code == 403  # no longer theirs


def test_nobody_labels_over_the_datas_outcome(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    game = 22300062 + int(dt.datetime.now().timestamp()) % 1000
    prediction_id = predict(client, account, game_id=game, game_event_id=11)
    verify_shots(live.services.db, [game], [11], [1])  # the ingest of the shot
    admin = account_with_role(client, live, "admin")
    for who in (account, admin):
        refused = verify(client, who, prediction_id, 0)
        assert refused.status_code == 409
        assert "from the data" in refused.json()["detail"]
    row = stored(live, prediction_id)
    assert (row.verified_outcome, row.verified_by) == (None, None)  # no person's label
    (item,) = [
        i
        for i in client.get("/predictions", headers=account.headers).json()["items"]
        if i["prediction_id"] == prediction_id
    ]
    assert (item["verified_outcome"], item["outcome_source"]) == (1, "data")
    # and it is not offered to anyone for labelling
    for _ in range(5):
        offered = client.get("/verify_random_prediction", headers=account.headers)
        assert offered.status_code == 404 or offered.json()["prediction_id"] != prediction_id
