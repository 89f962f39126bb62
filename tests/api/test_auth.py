"""Sign-up, login, tokens and who may do what."""

from __future__ import annotations

import httpx
from api_servers import PASSWORD, Account, LiveServer, sign_up, unique_name

from nba_mlops.auth.tokens import TokenCodec
from nba_mlops.auth.users import set_disabled


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
    login = client.post("/login", data={"username": account.username, "password": PASSWORD})
    assert login.status_code == 403
    assert "disabled" in login.json()["detail"]
    # The user status cache lives at most serving.user_cache_ttl_s (0.2 s here).
    import time

    time.sleep(live.settings.serving.user_cache_ttl_s + 0.1)
    response = client.get("/predictions", headers=account.headers)
    assert response.status_code == 403
    assert response.json()["detail"] == "This account is disabled"


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
