"""Sign up and log in (OAuth2 password flow, so Swagger's Authorize button works)."""

from __future__ import annotations

import math
import re
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm

from nba_mlops.api.deps import ServicesDep, SessionDep, SettingsDep
from nba_mlops.api.errors import invalid_field
from nba_mlops.api.schemas.auth import (
    MAX_PASSWORD_LENGTH,
    USERNAME_PATTERN,
    SignupRequest,
    Token,
    UserPublic,
)
from nba_mlops.api.services import Services
from nba_mlops.auth.users import UsernameTakenError, UserStatus, authenticate, create_user

router = APIRouter(tags=["users"])


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    summary="Create an account (always an enabled normal user)",
    responses={409: {"description": "Username taken"}},
)
def signup(body: SignupRequest, session: SessionDep, settings: SettingsDep) -> UserPublic:
    minimum = settings.serving.min_password_length
    if len(body.password) < minimum:
        raise invalid_field("password", f"String should have at least {minimum} characters")
    try:
        user = create_user(session, body.username, body.password)
    except UsernameTakenError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return UserPublic(id=user.id, username=user.username)


def _could_exist(username: str) -> bool:
    return 3 <= len(username) <= 50 and re.fullmatch(USERNAME_PATTERN, username) is not None


def _too_many(what: str, wait_s: float) -> HTTPException:
    seconds = max(1, math.ceil(wait_s))
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail=f"Too many login attempts for this {what}; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def _check(services: Services, username: str, password: str) -> UserStatus | None:
    if len(password) > MAX_PASSWORD_LENGTH or not _could_exist(username):
        return None  # no such account can exist: no database query with odd bytes
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return None
    with services.db.session() as session:
        user = authenticate(session, username, password)
        return UserStatus.of(user) if user is not None else None


@router.post(
    "/login",
    summary="Exchange username and password (form fields) for a bearer token",
    responses={
        401: {"description": "Wrong username or password"},
        403: {"description": "Account disabled"},
        429: {"description": "Too many attempts; see Retry-After"},
    },
)
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    services: ServicesDep,
) -> Token:
    address = request.client.host if request.client else "unknown"
    wait = services.login_by_address.hit(address)
    if wait is not None:
        raise _too_many("client address", wait)
    wait = services.login_by_username.hit(form.username[:100])
    if wait is not None:
        raise _too_many("username", wait)
    user = await run_in_threadpool(_check, services, form.username, form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if user.disabled:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This account is disabled")
    return Token(access_token=services.tokens.issue(user.id, user.username))
