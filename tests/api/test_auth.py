"""Sign-up, login, tokens and who may do what."""

from __future__ import annotations

import time

import httpx
import pytest

from nba_mlops.auth.tokens import TokenCodec
from nba_mlops.auth.users import revoke_tokens, set_disabled, set_password
from tests.support.api_servers import PASSWORD, Account, LiveServer, sign_up, unique_name


def test_signup_returns_the_new_user(client: httpx.Client) -> None:
    name = unique_name()
    response = client.post("/signup", json={"username": name, "password": PASSWORD})
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == name and isinstance(body["id"], int)
    assert set(body) == {"id", "username"}


def test_signup_with_the_original_payload_ignores_disabled_and_role(
    client: httpx.Client, live: LiveServer
) -> None:
    name = unique_name()
    response = client.post(
        "/signup",
        json={"username": name, "password": PASSWORD, "disabled": True, "role": "admin"},
    )
    assert response.status_code == 201
    token = client.post("/login", data={"username": name, "password": PASSWORD})
    assert token.status_code == 200  # not disabled
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.post("/models/reload", headers=headers).status_code == 403  # not admin


def test_duplicate_username_is_a_clear_409(client: httpx.Client, account: Account) -> None:
    response = client.post("/signup", json={"username": account.username, "password": PASSWORD})
    assert response.status_code == 409
    assert account.username in response.json()["detail"]
    assert "taken" in response.json()["detail"]


def test_short_password_is_refused_naming_the_field(client: httpx.Client) -> None:
    response = client.post("/signup", json={"username": unique_name(), "password": "short"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "password"
    assert "8" in response.json()["errors"][0]["message"]


def test_bad_usernames_are_refused(client: httpx.Client) -> None:
    for username in ["ab", "x" * 51, "has space", "semi;colon", "émile", ""]:
        response = client.post("/signup", json={"username": username, "password": PASSWORD})
        assert response.status_code == 422, username
        assert response.json()["errors"][0]["field"] == "username"


def test_login_returns_a_bearer_token(client: httpx.Client, account: Account) -> None:
    response = client.post("/login", data={"username": account.username, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    assert response.json()["access_token"].count(".") == 2


def test_wrong_credentials_are_401(client: httpx.Client, account: Account) -> None:
    wrong = client.post("/login", data={"username": account.username, "password": "nope-nope"})
    unknown = client.post("/login", data={"username": unique_name(), "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json()["detail"] == "Incorrect username or password"
        assert response.headers["www-authenticate"] == "Bearer"


def test_protected_endpoints_need_a_token(client: httpx.Client) -> None:
    for method, path in [
        ("POST", "/predict"),
        ("POST", "/predict/batch"),
        ("GET", "/predictions"),
        ("GET", "/verify_random_prediction"),
        ("POST", "/verify_random_prediction"),
        ("POST", "/models/reload"),
    ]:
        response = client.request(method, path, json={"loc_x": 0, "loc_y": 0})
        assert response.status_code == 401, path
        assert "Bearer" in response.json()["detail"]
        assert response.headers["www-authenticate"] == "Bearer"


def test_bad_and_forged_tokens_are_401(client: httpx.Client, account: Account) -> None:
    forged = TokenCodec("another-secret-" + "y" * 40, 60).issue(account.id, account.username)
    for token in ["garbage", "a.b.c", forged, account.token[:-4] + "AAAA", "\xe9\xff"]:
        header = f"Bearer {token}".encode("latin-1")  # raw bytes, as any client may send
        response = client.post(
            "/predict", json={"loc_x": 0, "loc_y": 0}, headers={"Authorization": header}
        )
        assert response.status_code == 401, token
        assert response.json()["detail"] == "Invalid token"


def test_expired_token_is_401(client: httpx.Client, live: LiveServer, account: Account) -> None:
    secret = live.settings.jwt_secret
    assert secret is not None
    expired = TokenCodec(secret, 60).issue(account.id, account.username, ttl_s=-5)
    response = client.post(
        "/predict", json={"loc_x": 0, "loc_y": 0}, headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 401
    assert "expired" in response.json()["detail"].lower()


def test_disabled_user_cannot_log_in_nor_use_a_token(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    assert client.get("/predictions", headers=account.headers).status_code == 200
    with live.services.db.session() as session:
        set_disabled(session, account.username, True)
    # The right password answers exactly as a wrong one: the answer confirms nothing.
    right = client.post("/login", data={"username": account.username, "password": PASSWORD})
    wrong = client.post("/login", data={"username": account.username, "password": "wrong-one"})
    for login in (right, wrong):
        assert login.status_code == 401
        assert login.json() == {"detail": "Incorrect username or password"}
        assert login.headers["www-authenticate"] == "Bearer"
    # The user status cache lives at most serving.user_cache_ttl_s (0.2 s here).
    time.sleep(live.settings.serving.user_cache_ttl_s + 0.1)
    response = client.get("/predictions", headers=account.headers)
    assert response.status_code == 403
    assert response.json()["detail"] == "This account is disabled"


def _refused_soon(client: httpx.Client, live: LiveServer, headers: dict[str, str]) -> None:
    """The token is refused within the status cache's life, on every route and path."""
    time.sleep(live.settings.serving.user_cache_ttl_s + 0.1)
    shot = {"loc_x": 0, "loc_y": 10}
    for response in (
        client.get("/predictions", headers=headers),
        client.post("/predict", json=shot, headers=headers),  # the fast path
        client.post("/predict/batch", json={"shots": [shot]}, headers=headers),
    ):
        assert response.status_code == 401, response.text
        assert "revoked" in response.json()["detail"]


def test_a_password_change_revokes_earlier_tokens(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    assert client.post(
        "/predict", json={"loc_x": 0, "loc_y": 10}, headers=account.headers
    ).is_success
    new_password = "another long passphrase"
    with live.services.db.session() as session:
        set_password(session, account.username, new_password)
    _refused_soon(client, live, account.headers)
    old = client.post("/login", data={"username": account.username, "password": PASSWORD})
    assert old.status_code == 401
    new = client.post("/login", data={"username": account.username, "password": new_password})
    assert new.status_code == 200
    headers = {"Authorization": f"Bearer {new.json()['access_token']}"}
    assert client.post("/predict", json={"loc_x": 0, "loc_y": 10}, headers=headers).is_success


def test_tokens_can_be_revoked_without_a_password_change(
    client: httpx.Client, live: LiveServer, account: Account
) -> None:
    with live.services.db.session() as session:
        revoke_tokens(session, account.username)
    _refused_soon(client, live, account.headers)
    again = client.post("/login", data={"username": account.username, "password": PASSWORD})
    assert again.status_code == 200
    headers = {"Authorization": f"Bearer {again.json()['access_token']}"}
    assert client.get("/predictions", headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("password", "common password"),
        ("12345678", "common password"),
        ("        ", "only spaces"),
        ("{username}", "must not be the username"),
        ("{USERNAME}", "must not be the username"),
    ],
)
def test_weak_passwords_are_refused_naming_the_field(
    client: httpx.Client, password: str, says: str
) -> None:
    name = unique_name()
    password = password.format(username=name, USERNAME=name.upper())
    response = client.post("/signup", json={"username": name, "password": password})
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["field"] == "password"
    assert says in error["message"]
    assert client.post("/login", data={"username": name, "password": password}).status_code == 401


def test_usernames_are_unique_whatever_their_case(client: httpx.Client, account: Account) -> None:
    for spelling in (account.username.upper(), account.username.capitalize()):
        response = client.post("/signup", json={"username": spelling, "password": PASSWORD})
        assert response.status_code == 409, spelling
        assert "taken" in response.json()["detail"]
    # Any spelling of the name logs in to the one account.
    login = client.post("/login", data={"username": account.username.upper(), "password": PASSWORD})
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    mine = client.get("/predictions", headers=headers)
    assert mine.status_code == 200


def test_admin_reloads_the_model(client: httpx.Client, live: LiveServer) -> None:
    from nba_mlops.auth.users import create_user

    name = unique_name("admin")
    with live.services.db.session() as session:
        create_user(session, name, PASSWORD, admin=True)
    token = client.post("/login", data={"username": name, "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    response = client.post("/models/reload", headers=headers)
    assert response.status_code == 200
    assert response.json()["changed"] is False
    assert "already served" in response.json()["message"]
    forced = client.post("/models/reload?force=true", headers=headers)
    assert forced.status_code == 200 and forced.json()["changed"] is True


def test_swagger_authorize_uses_login(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    flows = schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "login"
    assert client.get("/docs").status_code == 200


def test_each_user_gets_a_new_account(client: httpx.Client) -> None:
    first, second = sign_up(client), sign_up(client)
    assert first.id != second.id
