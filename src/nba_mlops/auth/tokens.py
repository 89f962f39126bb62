"""Signed, expiring bearer tokens (JWT, HS256) and the key that signs them."""

from __future__ import annotations

import os
import secrets
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from nba_mlops.config import Settings
from nba_mlops.log import get_logger

ALGORITHM = "HS256"
_SECRET_FILE = "jwt_secret"
_MIN_SECRET_LENGTH = 32

logger = get_logger(__name__)


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or lacks a subject."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    username: str
    expires_at: float
    # The account's token version when the token was issued: changing the password (or
    # revoking tokens) raises the account's version, and older tokens stop working.
    token_version: int = 0


def load_or_create_secret(settings: Settings) -> str:
    """The signing key: ``NBA_MLOPS_JWT_SECRET``, else ``<home>/jwt_secret`` (created 0600).

    Every worker process of one server reads the same file, so a token issued by one
    worker is accepted by all; creating it with ``O_EXCL`` makes concurrent first starts
    agree on one key.
    """
    if settings.jwt_secret:
        if len(settings.jwt_secret) < _MIN_SECRET_LENGTH:
            raise ValueError(f"NBA_MLOPS_JWT_SECRET must be at least {_MIN_SECRET_LENGTH} chars")
        return settings.jwt_secret
    path = settings.home / _SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(64))
        handle.flush()
        os.fsync(handle.fileno())
    logger.info("generated a new token signing key at %s", path)
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(0o600)
        logger.warning("%s was readable by others; permissions reset to 0600", path)
    # Another process may have created the file a moment ago and still be writing it.
    for _ in range(50):
        secret = path.read_text(encoding="utf-8").strip()
        if len(secret) >= _MIN_SECRET_LENGTH:
            return secret
        time.sleep(0.02)
    raise RuntimeError(f"{path} holds no usable key; delete it to generate a new one")


class TokenCodec:
    """Issue and check tokens; checked tokens are remembered until they expire."""

    def __init__(self, secret: str, ttl_minutes: float, *, cache_size: int = 20_000) -> None:
        self._secret = secret
        self._ttl_s = ttl_minutes * 60.0
        self._cache: dict[str, TokenClaims] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def issue(
        self,
        user_id: int,
        username: str,
        *,
        token_version: int = 0,
        ttl_s: float | None = None,
    ) -> str:
        now = int(time.time())
        lifetime = self._ttl_s if ttl_s is None else ttl_s
        payload = {
            "sub": str(user_id),
            "name": username,
            "ver": token_version,
            "iat": now,
            "exp": now + int(lifetime),
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> TokenClaims:
        claims = self._cache.get(token)
        if claims is not None:
            if claims.expires_at > time.time():
                return claims
            with self._lock:
                self._cache.pop(token, None)
            raise InvalidTokenError("token expired")
        claims = self._decode(token)
        with self._lock:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[token] = claims
        return claims

    def _decode(self, token: str) -> TokenClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub"]},
            )
            return TokenClaims(
                user_id=int(payload["sub"]),
                username=str(payload.get("name", "")),
                expires_at=float(payload["exp"]),
                token_version=int(payload.get("ver", 0)),
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidTokenError("token expired") from exc
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise InvalidTokenError("invalid token") from exc
