"""A player's shot chart and zone figures, answered from the store."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api_servers import LiveServer


def _top_player(client: httpx.Client) -> dict[str, Any]:
    players: list[dict[str, Any]] = client.get("/players?limit=1").json()["players"]
    return players[0]


def _all_shots(client: httpx.Client, player_id: int, **params: Any) -> list[dict[str, Any]]:
    shots: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = client.get(
            f"/players/{player_id}/shots", params={**params, "offset": offset, "limit": 500}
        ).json()
        shots.extend(page["shots"])
        offset = page["next_offset"]
    return shots


def test_shots_are_the_stored_shots_with_the_models_expectation(
    client: httpx.Client, live: LiveServer
) -> None:
    player = _top_player(client)
    response = client.get(f"/players/{player['player_id']}/shots")
    assert response.status_code == 200
    body = response.json()
    assert body["player_name"] == player["player_name"]
    assert body["model_version"] == live.services.predictor.current.version
    assert body["total"] >= len(body["shots"]) > 0
    shot = body["shots"][0]
    assert {"loc_x", "loc_y", "made", "expected", "zone", "season", "action_type"} <= set(shot)
    assert all(s["made"] in (0, 1) for s in body["shots"])
    assert all(0.0 < s["expected"] < 1.0 for s in body["shots"])


def test_shots_are_paged_and_filtered_by_season(client: httpx.Client) -> None:
    player_id = _top_player(client)["player_id"]
    first = client.get(f"/players/{player_id}/shots", params={"limit": 3}).json()
    second = client.get(f"/players/{player_id}/shots", params={"limit": 3, "offset": 3}).json()
    assert len(first["shots"]) == 3 and first["next_offset"] == 3
    keys = {(s["game_id"], s["game_event_id"]) for s in first["shots"]}
    assert keys.isdisjoint({(s["game_id"], s["game_event_id"]) for s in second["shots"]})
    career = _all_shots(client, player_id)
    assert len(career) == first["total"]
    seasons = sorted({s["season"] for s in career})
    by_season = 0
    for season in seasons:
        shots = _all_shots(client, player_id, season=season)
        assert shots and all(s["season"] == season for s in shots)
        by_season += len(shots)
    assert by_season == len(career)
    last = client.get(
        f"/players/{player_id}/shots", params={"offset": first["total"] - 1, "limit": 10}
    ).json()
    assert len(last["shots"]) == 1 and last["next_offset"] is None


def test_zones_add_up_to_the_shots(client: httpx.Client) -> None:
    player_id = _top_player(client)["player_id"]
    career = _all_shots(client, player_id)
    season = career[-1]["season"]
    response = client.get(f"/players/{player_id}/zones", params={"season": season})
    assert response.status_code == 200
    body = response.json()
    assert [s["scope"] for s in body["scopes"]] == ["current", "season", "career"]
    assert season in body["seasons"]
    scopes = {s["scope"]: s for s in body["scopes"]}
    whole = scopes["career"]
    assert whole["total"]["attempts"] == len(career)
    assert sum(z["attempts"] for z in whole["zones"]) == len(career)
    assert whole["total"]["makes"] == sum(s["made"] for s in career)
    value = {"2PT Field Goal": 2, "3PT Field Goal": 3}
    above = sum(value[s["shot_type"]] * (s["made"] - s["expected"]) for s in career)
    assert whole["total"]["points_above_expected"] == pytest.approx(above, abs=0.05)
    for zone in whole["zones"]:
        mine = [s for s in career if s["zone"] == zone["zone"]]
        assert zone["attempts"] == len(mine)
        if mine:
            assert zone["make_rate"] == pytest.approx(
                sum(s["made"] for s in mine) / len(mine), abs=1e-3
            )
            assert zone["expected_rate"] == pytest.approx(
                sum(s["expected"] for s in mine) / len(mine), abs=1e-3
            )
        assert zone["league_attempts"] >= zone["attempts"]
        assert zone["league_make_rate"] is None or 0 <= zone["league_make_rate"] <= 1
    assert scopes["season"]["total"]["attempts"] == sum(1 for s in career if s["season"] == season)
    assert whole["total"]["league_attempts"] >= scopes["season"]["total"]["league_attempts"]


def test_unknown_players_and_bad_seasons(client: httpx.Client) -> None:
    assert client.get("/players/999999999/shots").status_code == 404
    assert client.get("/players/999999999/zones").status_code == 404
    player_id = _top_player(client)["player_id"]
    assert client.get(f"/players/{player_id}/shots?season=1950-51").status_code == 404
    for bad in ("2015", "2015-17", "abcd-ef"):
        assert client.get(f"/players/{player_id}/shots", params={"season": bad}).status_code == 422
        assert client.get(f"/players/{player_id}/zones", params={"season": bad}).status_code == 422
    assert client.get(f"/players/{player_id}/shots?limit=0").status_code == 422
    assert client.get("/players/0/shots").status_code == 422


def test_a_stored_shot_is_explained_with_its_own_context(
    client: httpx.Client, live: LiveServer
) -> None:
    from nba_mlops.explain import GROUPS, family_of

    player_id = _top_player(client)["player_id"]
    page = client.get(f"/players/{player_id}/shots", params={"limit": 1}).json()
    shot = page["shots"][0]
    url = f"/players/{player_id}/shots/{shot['game_id']}/{shot['game_event_id']}/explanation"
    body = client.get(url, params={"season": shot["season"]}).json()
    assert body["made"] == shot["made"] and body["expected"] == shot["expected"]
    assert body["model_version"] == page["model_version"]
    explanation = body["explanation"]
    family = family_of(live.services.predictor.current.model)
    assert explanation["family"] == family
    if family == "lightgbm":
        assert [g["group"] for g in explanation["groups"]] == list(GROUPS)
    else:
        assert explanation["available"] is False
    # without the season the career is searched; an unknown event is 404
    assert client.get(url).json()["expected"] == shot["expected"]
    missing = f"/players/{player_id}/shots/{shot['game_id']}/999999/explanation"
    assert client.get(missing).status_code == 404
