"""Verifying predictions, with the original project's request and answer shapes."""

from __future__ import annotations

import httpx
from api_servers import Account, LiveServer
from sqlalchemy import update

from nba_mlops.db.models import Prediction


def predict(client: httpx.Client, account: Account) -> int:
    response = client.post("/predict", json={"loc_x": 30, "loc_y": 40}, headers=account.headers)
    assert response.status_code == 200
    return int(response.json()["prediction_id"])


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
