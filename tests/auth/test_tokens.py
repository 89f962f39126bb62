"""Bearer tokens and their signing key."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import jwt
import pytest

from nba_mlops.auth.tokens import InvalidTokenError, TokenCodec, load_or_create_secret
from nba_mlops.config import Settings

SECRET = "s" * 48


def test_round_trip_and_claims() -> None:
    codec = TokenCodec(SECRET, ttl_minutes=5)
    token = codec.issue(7, "alice")
    claims = codec.decode(token)
    assert (claims.user_id, claims.username) == (7, "alice")
    assert claims.expires_at == pytest.approx(time.time() + 300, abs=5)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_expired_forged_and_garbage_tokens_are_refused() -> None:
    codec = TokenCodec(SECRET, ttl_minutes=5)
    with pytest.raises(InvalidTokenError, match="expired"):
        codec.decode(codec.issue(1, "a", ttl_s=-1))
    with pytest.raises(InvalidTokenError):
        codec.decode(TokenCodec("t" * 48, 5).issue(1, "a"))
    with pytest.raises(InvalidTokenError):
        codec.decode("not.a.token")
    none_alg = jwt.encode({"sub": "1", "exp": time.time() + 60}, key="", algorithm="none")
    with pytest.raises(InvalidTokenError):
        codec.decode(none_alg)
    no_subject = jwt.encode({"exp": time.time() + 60}, SECRET, algorithm="HS256")
    with pytest.raises(InvalidTokenError):
        codec.decode(no_subject)


def test_a_cached_token_still_expires() -> None:
    codec = TokenCodec(SECRET, ttl_minutes=5)
    token = codec.issue(1, "a", ttl_s=1)
    assert codec.decode(token).user_id == 1
    time.sleep(1.1)
    with pytest.raises(InvalidTokenError, match="expired"):
        codec.decode(token)


def test_secret_from_the_environment_wins(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, NBA_MLOPS_JWT_SECRET=SECRET)
    assert load_or_create_secret(settings) == SECRET
    assert not (tmp_path / "jwt_secret").exists()
    with pytest.raises(ValueError, match="at least"):
        load_or_create_secret(Settings(home=tmp_path, NBA_MLOPS_JWT_SECRET="short"))


def test_generated_secret_is_private_and_stable(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    first = load_or_create_secret(settings)
    path = tmp_path / "jwt_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 64
    assert load_or_create_secret(settings) == first
    path.chmod(0o644)
    assert load_or_create_secret(settings) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # repaired
