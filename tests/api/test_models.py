"""The champion served and its players."""

from __future__ import annotations

import httpx

from tests.support.api_servers import LiveServer


def test_current_model(client: httpx.Client, live: LiveServer) -> None:
    response = client.get("/models/current")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == live.settings.model_name
    assert body["version"] == live.services.predictor.current.version
    assert {"holdout_log_loss", "holdout_roc_auc", "holdout_accuracy"} <= set(body["metrics"])
    assert body["promoted_at"] is not None


def test_players_are_listed_most_shots_first(client: httpx.Client) -> None:
    players = client.get("/players?limit=5").json()["players"]
    assert 0 < len(players) <= 5
    assert set(players[0]) >= {"player_id", "player_name", "team_name", "shots"}
    shots = [p["shots"] for p in players]
    assert shots == sorted(shots, reverse=True)


def test_players_search_by_name(client: httpx.Client) -> None:
    first = client.get("/players?limit=1").json()["players"][0]
    part = first["player_name"].split()[-1].lower()
    found = client.get("/players", params={"q": part, "limit": 50}).json()["players"]
    assert found and all(part in p["player_name"].lower() for p in found)
    assert client.get("/players", params={"q": "zzzzzzqqq"}).json() == {"players": []}
    assert client.get("/players?limit=0").status_code == 422
    assert client.get("/players?limit=5001").status_code == 422
