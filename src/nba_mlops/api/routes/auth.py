"""Sign up and log in (OAuth2 password flow, so Swagger's Authorize button works).

Both hash a password, the costliest thing a caller can ask for without an account, so
both are limited per client address before any hashing, and hash through the process's
bounded :class:`~nba_mlops.auth.passwords.PasswordHashing`. Failed logins are also
limited per username *and* address, so guessing from one address never locks the owner
out from another.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from nba_mlops.api.deps import ServicesDep
from nba_mlops.api.errors import invalid_field
from nba_mlops.api.schemas.auth import (
    MAX_PASSWORD_LENGTH,
    USERNAME_PATTERN,
    SignupRequest,
    Token,
    UserPublic,
)
from nba_mlops.api.schemas.errors import ErrorBody, ValidationErrorBody
from nba_mlops.api.services import Services
from nba_mlops.auth.usernames import username_key
from nba_mlops.auth.users import (
    UsernameTakenError,
    UserStatus,
    WeakPasswordError,
    authenticate,
    check_password,
    create_user,
)

router = APIRouter(tags=["users"])

_BUSY = {"model": ErrorBody, "description": "Too many passwords being checked; see Retry-After"}
_LIMITED = {"model": ErrorBody, "description": "Too many attempts; see Retry-After"}


#: Failed logins are counted under the username's key clipped to this many characters:
#: longer than any account's (50), and bounded though normalising can multiply a name's
#: length by 18 (NFKC spells out U+FDFA), which would multiply a worker's memory of keys.
FAILURE_KEY_LENGTH = 100


def failure_key(username: str) -> str:
    """What failed logins of ``username`` are counted under: every spelling of one account
    gives the same key, and no key is longer than :data:`FAILURE_KEY_LENGTH`."""
    return username_key(username[:FAILURE_KEY_LENGTH])[:FAILURE_KEY_LENGTH]


def client_address(request: Request) -> str:
    """The caller's address (behind a trusted proxy, the one it forwarded)."""
    return request.client.host if request.client else "unknown"


def _too_many(what: str, wait_s: float) -> HTTPException:
    seconds = max(1, math.ceil(wait_s))
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail=f"Too many {what}; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def _create(services: Services, body: SignupRequest) -> UserPublic:
    # The strength check takes milliseconds of CPU: here, off the event loop.
    check_password(services.settings, body.username, body.password)
    with services.db.session() as session:
        user = create_user(session, body.username, body.password, cost=services.hash_cost)
        return UserPublic(id=user.id, username=user.username)


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    summary="Create an account (always an enabled normal user)",
    responses={
        409: {"model": ErrorBody, "description": "Username taken"},
        422: {"model": ValidationErrorBody, "description": "Invalid name or weak password"},
        429: _LIMITED,
        503: _BUSY,
    },
)
async def signup(request: Request, body: SignupRequest, services: ServicesDep) -> UserPublic:
    wait = await services.signups_by_address.hit(client_address(request))
    if wait is not None:
        raise _too_many("sign-ups from this address", wait)
    try:
        return await services.hashing.run(_create, services, body)
    except WeakPasswordError as exc:
        raise invalid_field("password", str(exc)) from None
    except UsernameTakenError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None


def _could_exist(username: str) -> bool:
    return 3 <= len(username) <= 50 and re.fullmatch(USERNAME_PATTERN, username) is not None


def _check(services: Services, username: str, password: str) -> UserStatus | None:
    """The enabled account these credentials open, else None (same time either way)."""
    if len(password) > MAX_PASSWORD_LENGTH or not _could_exist(username):
        return None  # no such account can exist: no database query with odd bytes
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return None
    with services.db.session() as session:
        user = authenticate(session, username, password, services.hash_cost)
        if user is None or user.disabled:
            return None  # a disabled account answers as a wrong password does
        return UserStatus.of(user)


@router.post(
    "/login",
    summary="Exchange username and password (form fields) for a bearer token",
    responses={
        401: {"model": ErrorBody, "description": "Wrong username or password"},
        429: _LIMITED,
        503: _BUSY,
    },
)
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    services: ServicesDep,
) -> Token:
    address = client_address(request)
    wait = await services.logins_by_address.hit(address)
    if wait is not None:
        raise _too_many("login attempts from this address", wait)
    failures = (failure_key(form.username), address)
    # Counted before the password is checked, and forgotten if it opens the account:
    # counted after, a burst of concurrent guesses would all be checked before the first
    # failure was recorded.
    wait = await services.login_failures.hit(*failures)
    if wait is not None:
        raise _too_many("failed logins for this username from this address", wait)
    user = await services.hashing.run(_check, services, form.username, form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    await services.login_failures.clear(*failures)
    return Token(
        access_token=services.tokens.issue(user.id, user.username, token_version=user.token_version)
    )
