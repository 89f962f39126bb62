"""A user's own prediction history."""

from __future__ import annotations

import httpx

from tests.support.api_servers import Account


def test_history_is_mine_newest_first_and_paged(
    client: httpx.Client, account: Account, make_account: object
) -> None:
    other = make_account()  # type: ignore[operator]
    client.post("/predict", json={"loc_x": 1, "loc_y": 1}, headers=other.headers)
    ids = []
    for x in range(5):
        response = client.post("/predict", json={"loc_x": x, "loc_y": 20}, headers=account.headers)
        ids.append(response.json()["prediction_id"])
    page = client.get("/predictions?limit=2&offset=1", headers=account.headers).json()
    assert page["total"] == 5 and page["limit"] == 2 and page["offset"] == 1
    assert [item["prediction_id"] for item in page["items"]] == [ids[3], ids[2]]
    item = page["items"][0]
    assert set(item) == {
        "prediction_id",
        "prediction",
        "probability",
        "model_version",
        "created_at",
        "input",
        "verified_outcome",
        "outcome_source",
        "purpose",
    }
    assert item["purpose"] == "shot"
    assert item["input"]["loc_x"] == 3.0
    assert item["verified_outcome"] is None
    everything = client.get("/predictions", headers=account.headers).json()
    assert everything["limit"] == 50 and len(everything["items"]) == 5
    beyond = client.get("/predictions?offset=100", headers=account.headers).json()
    assert beyond["items"] == [] and beyond["total"] == 5
