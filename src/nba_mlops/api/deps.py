"""Dependencies of the routes, each an ``Annotated`` alias (``SessionDep``, ``CurrentUser``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from nba_mlops.api.errors import DATABASE_DOWN
from nba_mlops.api.services import Services
from nba_mlops.auth.tokens import InvalidTokenError
from nba_mlops.auth.users import UserStatus
from nba_mlops.config import Settings
from nba_mlops.db.session import DatabaseUnavailableError, is_unavailable
from nba_mlops.inference.predictor import ShotScorer

# tokenUrl makes Swagger's "Authorize" button log in through POST /login.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="login", auto_error=False)

_BEARER = {"WWW-Authenticate": "Bearer"}


# Dependencies that do no I/O are ``async def``: FastAPI would run a plain ``def`` in
# the thread pool, a thread hop per request on the hot path.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_session(services: ServicesDep) -> Iterator[Session]:
    with services.db.sessions() as session:
        yield session


async def get_predictor(services: ServicesDep) -> ShotScorer:
    return services.predictor


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
PredictorDep = Annotated[ShotScorer, Depends(get_predictor)]
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers=_BEARER)


async def authenticate(services: Services, token: str | None) -> UserStatus:
    """The caller behind the bearer token: signed, unexpired, still existing, enabled.

    The one check of a token, shared by every route (:func:`get_current_user`) and by the
    fast path of ``POST /predict`` (:mod:`nba_mlops.api.fastpath`): a rule added here
    applies to both. Raises the refusal as an :class:`HTTPException` (401 or 403), or
    :class:`DatabaseUnavailableError` when the user's status cannot be read.

    No database round trip per request: the token is checked in memory and the user's
    status comes from a cache refreshed every ``serving.user_cache_ttl_s`` seconds.
    """
    if not token:
        raise _unauthorized("Not authenticated: send 'Authorization: Bearer <token>' from /login")
    try:
        claims = services.tokens.decode(token)
    except InvalidTokenError as exc:
        detail = "Token expired; log in again" if "expired" in str(exc) else "Invalid token"
        raise _unauthorized(detail) from None
    try:
        user = await services.users.get(claims.user_id)
    except Exception as exc:
        if is_unavailable(exc):
            raise DatabaseUnavailableError(DATABASE_DOWN) from exc
        raise
    if user is None or user.username != claims.username:
        raise _unauthorized("The account of this token no longer exists")
    if user.token_version != claims.token_version:
        raise _unauthorized("Token revoked (password changed or tokens revoked); log in again")
    if user.disabled:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This account is disabled")
    return user


async def get_current_user(services: ServicesDep, token: TokenDep) -> UserStatus:
    """The caller behind the bearer token (see :func:`authenticate`)."""
    return await authenticate(services, token)


CurrentUser = Annotated[UserStatus, Depends(get_current_user)]


async def get_current_admin(user: CurrentUser) -> UserStatus:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Administrators only")
    return user


AdminUser = Annotated[UserStatus, Depends(get_current_admin)]
