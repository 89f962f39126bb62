"""No input ever makes the API answer 500: each kind of bad request gets a clear 4xx."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import Phase, given, seed, settings
from hypothesis import strategies as st

from nba_mlops.api.schemas.shots import ORIGINAL_EXAMPLE
from tests.support.api_servers import Account
from tests.support.fuzz_seeds import resolve, seed_params

JSON = {"Content-Type": "application/json"}

# (name, raw body, field the error names or None for a whole-body error)
BAD_SHOTS: list[tuple[str, bytes, str | None]] = [
    ("malformed json", b'{"loc_x": 0, "loc_y": ', "body"),
    ("trailing garbage", b'{"loc_x": 0, "loc_y": 1} x', "body"),
    ("not an object", b"[1, 2, 3]", "body"),
    ("a string", b'"shot"', "body"),
    ("null", b"null", "body"),
    ("empty object", b"{}", "loc_x"),
    ("missing loc_y", b'{"loc_x": 0}', "loc_y"),
    ("wrong type", b'{"loc_x": "left", "loc_y": 0}', "loc_x"),
    ("bool location", b'{"loc_x": 0, "loc_y": {"a": 1}}', "loc_y"),
    ("off the court", b'{"loc_x": 251, "loc_y": 0}', "loc_x"),
    ("behind the baseline", b'{"loc_x": 0, "loc_y": -61}', "loc_y"),
    ("huge float", b'{"loc_x": 1e400, "loc_y": 0}', "loc_x"),
    ("huge integer", b'{"loc_x": 0, "loc_y": 0, "period": ' + b"9" * 4000 + b"}", "period"),
    ("negative huge", b'{"loc_x": -1e308, "loc_y": 0}', "loc_x"),
    ("NaN", b'{"loc_x": NaN, "loc_y": 0}', "loc_x"),
    ("Infinity", b'{"loc_x": 0, "loc_y": Infinity}', "loc_y"),
    ("period 0", b'{"loc_x": 0, "loc_y": 0, "period": 0}', "period"),
    ("period 9", b'{"loc_x": 0, "loc_y": 0, "period": 9}', "period"),
    ("fractional period", b'{"loc_x": 0, "loc_y": 0, "period": 1.5}', "period"),
    ("minutes 13", b'{"loc_x": 0, "loc_y": 0, "minutes_remaining": 13}', "minutes_remaining"),
    ("seconds 60", b'{"loc_x": 0, "loc_y": 0, "seconds_remaining": 60}', "seconds_remaining"),
    ("unknown shot type", b'{"loc_x": 0, "loc_y": 0, "shot_type": "4PT"}', "shot_type"),
    ("unknown season type", b'{"loc_x": 0, "loc_y": 0, "season_type": "Summer"}', "season_type"),
    ("bad date", b'{"loc_x": 0, "loc_y": 0, "game_date": "2023-02-30"}', "game_date"),
    ("ancient date", b'{"loc_x": 0, "loc_y": 0, "game_date": "1800-01-01"}', "game_date"),
    ("NUL in text", b'{"loc_x": 0, "loc_y": 0, "player_name": "a\\u0000b"}', "player_name"),
    ("lone surrogate", b'{"loc_x": 0, "loc_y": 0, "player_name": "\\ud800"}', "player_name"),
    ("control char", b'{"loc_x": 0, "loc_y": 0, "action_type": "Jump\\u0007"}', "action_type"),
    ("long text", b'{"loc_x": 0, "loc_y": 0, "team_name": "' + b"x" * 5000 + b'"}', "team_name"),
    ("empty action", b'{"loc_x": 0, "loc_y": 0, "action_type": ""}', "action_type"),
    ("unknown field", b'{"loc_x": 0, "loc_y": 0, "locx": 3}', "locx"),
    ("huge player id", b'{"loc_x": 0, "loc_y": 0, "player_id": 1e30}', "player_id"),
    ("negative id", b'{"loc_x": 0, "loc_y": 0, "team_id": -1}', "team_id"),
    ("bad is_home", b'{"loc_x": 0, "loc_y": 0, "is_home": "maybe"}', "is_home"),
    (
        "original: bad one-hot",
        b'{"X_Location": 0, "Y_Location": 0, "ShotType_2PT_Field_Goal": 2}',
        "ShotType_2PT_Field_Goal",
    ),
    ("original: unknown field", b'{"X_Location": 0, "Y_Location": 0, "Colour": 1}', "Colour"),
    (
        "original: NaN frequency",
        b'{"X_Location": 0, "Y_Location": 0, "Player_ID_Frequency": NaN}',
        "Player_ID_Frequency",
    ),
    ("original: missing Y", b'{"X_Location": 0}', "Y_Location"),
]


@pytest.mark.parametrize(("name", "body", "field"), BAD_SHOTS, ids=[c[0] for c in BAD_SHOTS])
def test_bad_shots_are_422_naming_the_field(
    client: httpx.Client, account: Account, name: str, body: bytes, field: str | None
) -> None:
    response = client.post("/predict", content=body, headers={**JSON, **account.headers})
    assert response.status_code == 422, (name, response.text)
    payload = response.json()
    assert payload["detail"].startswith("Invalid request")
    assert payload["errors"], payload
    fields = [e["field"] for e in payload["errors"]]
    assert field in fields, (name, fields)
    assert all(isinstance(e["message"], str) and e["message"] for e in payload["errors"])


@pytest.mark.parametrize(
    "body",
    [
        # Python refuses to parse integers of more than 4,300 digits (a DoS guard).
        b'{"loc_x": 0, "loc_y": 0, "period": ' + b"9" * 5000 + b"}",
        b'{"loc_x": 0, "loc_y": 0, "player_name": "\xff\xfe"}',
    ],
    ids=["5000-digit integer", "invalid utf-8"],
)
def test_unparsable_bodies_are_400(client: httpx.Client, account: Account, body: bytes) -> None:
    response = client.post("/predict", content=body, headers={**JSON, **account.headers})
    assert response.status_code == 400
    assert "could not be read as JSON" in response.json()["detail"]


def test_unicode_text_is_fine(client: httpx.Client, account: Account) -> None:
    shot = {"loc_x": 0, "loc_y": 10, "player_name": "Nikola Jokić 🏀", "team_name": "Zürich"}
    response = client.post("/predict", json=shot, headers=account.headers)
    assert response.status_code == 200, response.text


def test_batch_item_errors_name_the_item(client: httpx.Client, account: Account) -> None:
    body = {"shots": [{"loc_x": 0, "loc_y": 0}, "not a shot", {"X_Location": 0, "Y_Location": 1e9}]}
    response = client.post("/predict/batch", json=body, headers=account.headers)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"shots[1]", "shots[2].Y_Location"} <= fields


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, b'{"loc_x": 0, "loc_y": 0}'),
        ({"Content-Type": "text/plain"}, b'{"loc_x": 0, "loc_y": 0}'),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"loc_x=0&loc_y=0"),
        (JSON, b""),
    ],
    ids=["no content type", "text/plain", "form", "empty body"],
)
def test_wrong_content_is_a_4xx(
    client: httpx.Client, account: Account, headers: dict[str, str], body: bytes
) -> None:
    response = client.post("/predict", content=body, headers={**headers, **account.headers})
    assert 400 <= response.status_code < 500, response.text
    assert "detail" in response.json()


def test_too_large_a_body_is_413(client: httpx.Client, account: Account) -> None:
    body = b'{"shots": [' + b",".join([b'{"loc_x": 0, "loc_y": 0}'] * 200_000) + b"]}"
    response = client.post("/predict/batch", content=body, headers={**JSON, **account.headers})
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=100000000000000000000000", "limit"),
        ("offset=-1", "offset"),
        ("offset=1e3", "offset"),
    ],
)
def test_bad_query_parameters(
    client: httpx.Client, account: Account, query: str, field: str
) -> None:
    response = client.get(f"/predictions?{query}", headers=account.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prediction_id": 1, "true_value": 2}, "true_value"),
        ({"prediction_id": 1, "true_value": -1}, "true_value"),
        ({"prediction_id": 1, "true_value": "1"}, "true_value"),
        ({"prediction_id": 1, "true_value": 0.5}, "true_value"),
        ({"prediction_id": 1, "true_value": True}, "true_value"),
        ({"prediction_id": 1}, "true_value"),
        ({"prediction_id": 2**70, "true_value": 1}, "prediction_id"),
        ({"prediction_id": "x", "true_value": 1}, "prediction_id"),
    ],
)
def test_bad_verifications_are_422(
    client: httpx.Client, account: Account, body: dict[str, object], field: str
) -> None:
    response = client.post("/verify_random_prediction", json=body, headers=account.headers)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"username": null, "password": "x"}',
        b'{"username": "ok_name", "password": "' + b"p" * 2000 + b'"}',
        b'{"username": "ok_name", "password": "\\ud800\\ud800\\ud800\\ud800\\ud800"}',
        b'{"username": "ok_name", "password": 12345678}',
    ],
)
def test_bad_signups_are_422(client: httpx.Client, body: bytes) -> None:
    response = client.post("/signup", content=body, headers=JSON)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": "someone"},
        {"password": "x"},
        {"username": "someone", "password": "x", "grant_type": "client_credentials"},
    ],
)
def test_incomplete_login_forms_are_422(client: httpx.Client, data: dict[str, str]) -> None:
    response = client.post("/login", data=data)
    assert response.status_code == 422
    assert response.json()["errors"]


def test_odd_login_input_is_401_not_500(client: httpx.Client) -> None:
    for username, password in [
        ("\U0001f3c0" * 40, "x"),
        ("a" * 5000, "b" * 5000),
        ("nul\x00name", "pass\x00word"),
    ]:
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 401, response.text
    raw = client.post(
        "/login",
        content=b"username=%ff%fe&password=%ed%a0%80",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert raw.status_code in (401, 422), raw.text
    as_json = client.post(
        "/login", content=json.dumps({"username": "a", "password": "b"}), headers=JSON
    )
    assert as_json.status_code == 422


def test_unknown_paths_and_methods_are_json(client: httpx.Client) -> None:
    missing = client.get("/no/such/endpoint", headers={"Accept": "application/json"})
    assert missing.status_code == 404
    wrong_method = client.delete("/predict")
    assert wrong_method.status_code in (404, 405)


@pytest.mark.parametrize("month", range(1, 11))
def test_an_original_payload_dated_before_the_first_game_is_422_naming_the_date(
    client: httpx.Client, account: Account, month: int
) -> None:
    """Year 1946 is in range alone; with months 1-10 the date precedes the first game
    (1946-11-01), which only the mapping onto raw fields finds out."""
    shot = {**ORIGINAL_EXAMPLE, "Year": 1946, "Month": month, "Day": 5}
    response = client.post("/predict", json=shot, headers=account.headers)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["Day"]
    assert "1946-11-01" in errors[0]["message"] and f"1946-{month:02d}-05" in errors[0]["message"]
    batch = {"shots": [{"loc_x": 0, "loc_y": 10}, shot, shot]}
    response = client.post("/predict/batch", json=batch, headers=account.headers)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["shots[1].Day", "shots[2].Day"]
    november = client.post("/predict", json={**shot, "Month": 11}, headers=account.headers)
    assert november.status_code == 200, november.text


_ORIGINAL_FIELDS = {name for name in ORIGINAL_EXAMPLE}


@pytest.mark.slow
@pytest.mark.parametrize("fuzz_seed", seed_params())
def test_any_original_payload_in_the_declared_ranges_is_answered_never_a_500(
    client: httpx.Client, account: Account, fuzz_seed: int | None
) -> None:
    """Every field of the original payload drawn from its own declared range (boundary
    values often): 200, or 422 naming fields of the payload."""
    boundary_year = st.sampled_from([1946, 2100]) | st.integers(1946, 2100)
    payloads = st.fixed_dictionaries(
        {
            "X_Location": st.integers(-250, 250),
            "Y_Location": st.integers(-60, 900),
            "Period": st.integers(1, 8),
            "Minutes_Remaining": st.integers(0, 12),
            "Seconds_Remaining": st.integers(0, 59),
            "Year": boundary_year,
            "Month": st.integers(1, 12),
            "Day": st.integers(1, 31),
        },
        optional={
            "ShotType_2PT_Field_Goal": st.sampled_from([0, 1]),
            "SeasonType_Playoffs": st.sampled_from([0, 1]),
            "Shot_Distance": st.integers(0, 100),
            "Day_of_Week": st.integers(0, 6),
        },
    )

    @seed(resolve(fuzz_seed))
    @settings(
        max_examples=150, deadline=None, database=None, phases=[Phase.explicit, Phase.generate]
    )
    @given(payload=payloads)
    def post(payload: dict[str, int]) -> None:
        response = client.post("/predict", json=payload, headers=account.headers)
        assert response.status_code in (200, 422), (payload, response.text)
        if response.status_code == 422:
            fields = {e["field"] for e in response.json()["errors"]}
            assert fields <= _ORIGINAL_FIELDS, (payload, fields)

    post()
