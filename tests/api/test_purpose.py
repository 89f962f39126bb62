"""Floor-map cells (the court page's heat map) are stored like every answer, but they
are not shots: no verification, no place in history by default, no say in drift."""

from __future__ import annotations

import httpx
from sqlalchemy import select, update

from nba_mlops.config import Settings
from nba_mlops.db.models import Prediction
from nba_mlops.monitoring.build import load_predictions
from tests.support.api_servers import Account, LiveServer

CELLS = [{"loc_x": x, "loc_y": 100} for x in (-100, 0, 100)]


def _verify_everything(live: LiveServer) -> None:
    with live.services.db.session() as session:
        session.execute(
            update(Prediction)
            .where(Prediction.verified_outcome.is_(None), Prediction.purpose == "shot")
            .values(verified_outcome=0)
        )
        session.commit()


def test_map_cells_are_stored_but_never_offered_for_verification(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    _verify_everything(live)
    response = client.post(
        "/predict/batch", json={"shots": CELLS, "purpose": "grid"}, headers=account.headers
    )
    assert response.status_code == 200
    ids = [p["prediction_id"] for p in response.json()["predictions"]]
    with live.services.db.session() as session:
        stored = session.execute(
            select(Prediction.purpose, Prediction.verified_outcome).where(Prediction.id.in_(ids))
        ).all()
    assert sorted(stored) == [("grid", None)] * 3
    # only map cells are unverified now, and they are not on offer
    assert client.get("/verify_random_prediction", headers=account.headers).status_code == 404
    refused = client.post(
        "/verify_random_prediction",
        json={"prediction_id": ids[0], "true_value": 1},
        headers=account.headers,
    )
    assert refused.status_code == 409
    assert "floor map" in refused.json()["detail"] and str(ids[0]) in refused.json()["detail"]
    with live.services.db.session() as session:
        assert session.get(Prediction, ids[0]).verified_outcome is None  # type: ignore[union-attr]
    shot = client.post("/predict", json={"loc_x": 5, "loc_y": 5}, headers=account.headers)
    offered = client.get("/verify_random_prediction", headers=account.headers).json()
    assert offered["prediction_id"] == shot.json()["prediction_id"]


def test_history_shows_shots_unless_asked_for_map_cells(
    client: httpx.Client, account: Account
) -> None:
    shot = client.post("/predict", json={"loc_x": 0, "loc_y": 50}, headers=account.headers)
    plain = client.post("/predict/batch", json={"shots": CELLS[:2]}, headers=account.headers)
    grid = client.post(
        "/predict/batch", json={"shots": CELLS, "purpose": "grid"}, headers=account.headers
    )
    shot_ids = {shot.json()["prediction_id"]} | {
        p["prediction_id"] for p in plain.json()["predictions"]
    }
    grid_ids = {p["prediction_id"] for p in grid.json()["predictions"]}

    def page(query: str) -> dict[str, object]:
        response = client.get(f"/predictions{query}", headers=account.headers)
        assert response.status_code == 200
        return dict(response.json())

    default = page("")
    assert default["total"] == 3
    assert {i["prediction_id"] for i in default["items"]} == shot_ids  # type: ignore[attr-defined]
    cells = page("?purpose=grid")
    assert cells["total"] == 3
    assert {i["prediction_id"] for i in cells["items"]} == grid_ids  # type: ignore[attr-defined]
    assert {i["purpose"] for i in cells["items"]} == {"grid"}  # type: ignore[attr-defined]
    assert page("?purpose=all")["total"] == 6
    wrong = client.get("/predictions?purpose=heatmap", headers=account.headers)
    assert wrong.status_code == 422
    assert "purpose" in wrong.text


def test_an_unknown_purpose_is_refused_by_name(client: httpx.Client, account: Account) -> None:
    response = client.post(
        "/predict/batch", json={"shots": CELLS, "purpose": "guess"}, headers=account.headers
    )
    assert response.status_code == 422
    assert "purpose" in response.text


def test_drift_and_the_prediction_mix_read_shots_only(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    marker = {"loc_x": 17, "loc_y": 171}
    client.post("/predict", json=marker, headers=account.headers)
    cells = [{"loc_x": x, "loc_y": 333} for x in (-100, 0, 100)]
    client.post("/predict/batch", json={"shots": cells, "purpose": "grid"}, headers=account.headers)
    settings = Settings(home=live.settings.home, database_url=live.settings.database_url)
    # the newest rows of all are the three cells; the newest shot is the marker
    recent, _, _ = load_predictions(settings, drift_window=4)
    assert len(recent) == 4
    assert recent["input"].iloc[0]["loc_y"] == 171
    assert all(row["loc_y"] != 333 for row in recent["input"])
