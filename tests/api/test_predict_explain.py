"""``POST /predict?explain=true``: the prediction with its grouped contributions."""

from __future__ import annotations

import httpx

from nba_mlops.explain import GROUPS, family_of
from tests.support.api_servers import Account, LiveServer

SHOT = {
    "loc_x": -120,
    "loc_y": 180,
    "period": 4,
    "minutes_remaining": 0,
    "action_type": "Jump Shot",
}


def test_explain_gives_the_prediction_and_its_explanation(
    client: httpx.Client, account: Account, live: LiveServer
) -> None:
    plain = client.post("/predict", json=SHOT, headers=account.headers)
    explained = client.post("/predict?explain=true", json=SHOT, headers=account.headers)
    assert plain.status_code == 200 and explained.status_code == 200, explained.text
    assert "explanation" not in plain.json()
    body = explained.json()
    assert body["probability"] == plain.json()["probability"]
    assert body["prediction_id"] > plain.json()["prediction_id"]  # stored like any other
    explanation = body["explanation"]
    family = family_of(live.services.predictor.current.model)
    assert explanation["family"] == family
    if family == "lightgbm":
        assert explanation["available"] is True
        assert [g["group"] for g in explanation["groups"]] == list(GROUPS)
        total = explanation["base"] + sum(g["contribution"] for g in explanation["groups"])
        assert abs(total - explanation["raw_score"]) < 1e-3
    else:
        assert explanation["available"] is False
        assert f"Not available for the {family} family" in explanation["reason"]
        assert explanation["groups"] == []


def test_explain_false_is_the_plain_answer(client: httpx.Client, account: Account) -> None:
    response = client.post("/predict?explain=false", json=SHOT, headers=account.headers)
    assert response.status_code == 200
    assert set(response.json()) == {"prediction", "probability", "model_version", "prediction_id"}
    assert (
        client.post("/predict?explain=maybe", json=SHOT, headers=account.headers).status_code == 422
    )
    assert client.post("/predict?explain=true", json=SHOT).status_code == 401
