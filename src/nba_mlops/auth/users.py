"""User accounts: create, authenticate, enable or disable, revoke tokens, and a short-lived
status cache.

A username is looked up by its exact spelling first, then by its key
(:func:`~nba_mlops.auth.usernames.username_key`): ``Bob_P`` logs in as ``bob_p``, and no
account can be made whose key another account has.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nba_mlops.auth.passwords import (
    DEFAULT_COST,
    HashCost,
    hash_cost,
    hash_password,
    verify_password,
)
from nba_mlops.auth.policy import password_problem
from nba_mlops.auth.usernames import CLASH_MARK, username_key
from nba_mlops.config import Settings
from nba_mlops.db.models import ROLE_ADMIN, ROLE_USER, ROLES, User
from nba_mlops.db.session import Database
from nba_mlops.log import get_logger

logger = get_logger(__name__)


class UsernameTakenError(ValueError):
    def __init__(self, username: str) -> None:
        super().__init__(f"The username '{username}' is already taken")
        self.username = username


class UnknownUserError(LookupError):
    def __init__(self, username: str) -> None:
        super().__init__(f"No user named '{username}'")


class WeakPasswordError(ValueError):
    """The password breaks the policy (``nba_mlops.auth.policy``); the message says how."""


@dataclass(frozen=True, slots=True)
class UserStatus:
    """What a request needs to know about its caller, without a database round trip."""

    id: int
    username: str
    role: str
    disabled: bool
    token_version: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @classmethod
    def of(cls, user: User) -> UserStatus:
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,
            disabled=user.disabled,
            token_version=user.token_version,
        )


def check_password(settings: Settings, username: str, password: str) -> None:
    """Raise :class:`WeakPasswordError` when the policy refuses ``password``."""
    serving = settings.serving
    problem = password_problem(
        password,
        username,
        min_length=serving.min_password_length,
        min_score=serving.min_password_score,
    )
    if problem is not None:
        raise WeakPasswordError(problem)


def _commit_name(session: Session, username: str) -> None:
    """Commit a new or changed username; another account that took it meanwhile (the
    unique key) is :class:`UsernameTakenError`."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise UsernameTakenError(username) from exc


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    admin: bool = False,
    role: str | None = None,
    cost: HashCost = DEFAULT_COST,
) -> User:
    """Add a user (``role``: one of ``ROLES``; ``admin`` is short for the administrator
    role); raises :class:`UsernameTakenError` when the name (or its key) exists."""
    role = role or (ROLE_ADMIN if admin else ROLE_USER)
    _check_role(role)
    key = username_key(username)
    if session.scalar(select(User.id).where(User.username_key == key)) is not None:
        raise UsernameTakenError(username)  # before spending a hash on it
    user = User(
        username=username,
        username_key=key,
        password_hash=hash_password(password, cost),
        role=role,
        disabled=False,
        token_version=0,
    )
    session.add(user)
    _commit_name(session, username)
    return user


def get_by_username(session: Session, username: str) -> User | None:
    """The account spelled exactly ``username``, else the one with its key."""
    found = list(
        session.scalars(
            select(User).where(
                or_(User.username == username, User.username_key == username_key(username))
            )
        )
    )
    exact = [user for user in found if user.username == username]
    chosen = exact or found
    return chosen[0] if chosen else None


def authenticate(
    session: Session, username: str, password: str, cost: HashCost = DEFAULT_COST
) -> User | None:
    """The user when the password matches, else None (same time either way)."""
    user = get_by_username(session, username)
    ok = verify_password(password, user.password_hash if user else None, cost)
    return user if ok and user is not None else None


class UnknownRoleError(ValueError):
    def __init__(self, role: str) -> None:
        super().__init__(f"Unknown role '{role}': choose one of {', '.join(ROLES)}")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UnknownRoleError(role)


def set_role(session: Session, username: str, role: str) -> User:
    """Give the account another role; running servers notice within the status cache's
    time to live, as for disabling."""
    _check_role(role)
    user = _existing(session, username)
    user.role = role
    session.commit()
    return user


def set_disabled(session: Session, username: str, disabled: bool) -> User:
    user = _existing(session, username)
    user.disabled = disabled
    session.commit()
    return user


def _existing(session: Session, username: str) -> User:
    user = get_by_username(session, username)
    if user is None:
        raise UnknownUserError(username)
    return user


def set_password(
    session: Session, username: str, password: str, cost: HashCost = DEFAULT_COST
) -> User:
    """Replace the password; tokens issued before stop working (see :func:`revoke_tokens`)."""
    user = _existing(session, username)
    user.password_hash = hash_password(password, cost)
    user.token_version += 1
    session.commit()
    return user


def revoke_tokens(session: Session, username: str) -> User:
    """Every token issued to the account so far stops working; its password stays.

    Running servers notice within ``serving.user_cache_ttl_s``, as for disabling.
    """
    user = _existing(session, username)
    user.token_version += 1
    session.commit()
    return user


def rename_user(session: Session, username: str, new_name: str) -> User:
    """Give the account another name (its tokens stop working); the name must be free."""
    user = _existing(session, username)
    key = username_key(new_name)
    taken = session.scalar(select(User.id).where(User.username_key == key, User.id != user.id))
    if taken is not None:
        raise UsernameTakenError(new_name)
    user.username, user.username_key = new_name, key
    _commit_name(session, new_name)
    return user


def clashing_users(session: Session) -> list[User]:
    """Accounts whose name another older account had already, case aside, when names
    became case-insensitive: they log in only by their exact name until renamed."""
    marked = User.username_key.contains(CLASH_MARK, autoescape=True)
    return list(session.scalars(select(User).where(marked).order_by(User.id)))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def ensure_admin(db: Database, settings: Settings) -> bool:
    """Create the administrator named in the settings when missing; True when created.

    An existing account of that name is left as it is: the environment never overwrites
    a password or a role someone changed since. A password the policy refuses raises
    :class:`WeakPasswordError`.
    """
    username, password = settings.admin_username, settings.admin_password
    if not username or password is None:
        return False
    with db.session() as session:
        if get_by_username(session, username) is not None:
            return False
        check_password(settings, username, password.get_secret_value())
        try:
            create_user(
                session,
                username,
                password.get_secret_value(),
                admin=True,
                cost=hash_cost(settings),
            )
        except UsernameTakenError:  # another process created it a moment ago
            return False
    logger.info("created administrator %r from the environment", username)
    return True


class UserStatusCache:
    """Role and disabled flag per user id, never older than ``ttl_s``.

    Keeps the per-request cost of "is this caller still allowed?" at a dictionary look-up:
    an entry past 80% of its life is re-read in the background while still answering, so
    steady traffic never waits for the database; concurrent misses share one read.
    Disabling a user takes effect within ``ttl_s`` on every process, or at once where
    account news reaches the worker (:mod:`nba_mlops.auth.news`, with Redis).
    """

    def __init__(self, load: Callable[[int], UserStatus | None], ttl_s: float) -> None:
        self._load = load
        self._ttl_s = ttl_s
        self._entries: dict[int, tuple[float, UserStatus | None]] = {}
        self._reads: dict[int, asyncio.Future[UserStatus | None]] = {}
        self._lock = threading.Lock()
        # Raised by every forget: a read that started before a change was announced must
        # not put the old status back after the change dropped it.
        self._epoch = 0

    async def get(self, user_id: int) -> UserStatus | None:
        """The user's status; reads the database (in a thread) only when needed."""
        entry = self._entries.get(user_id)
        if entry is not None:
            age = time.monotonic() - entry[0]
            if age <= self._ttl_s:
                if age > 0.8 * self._ttl_s:
                    self._read(user_id)  # refresh ahead of expiry, answer from memory
                return entry[1]
        return await asyncio.shield(self._read(user_id))

    def _read(self, user_id: int) -> asyncio.Future[UserStatus | None]:
        read = self._reads.get(user_id)
        if read is None:
            read = asyncio.ensure_future(asyncio.to_thread(self.load, user_id))
            self._reads[user_id] = read
            read.add_done_callback(lambda done: self._finished(user_id, done))
        return read

    def _finished(self, user_id: int, read: asyncio.Future[UserStatus | None]) -> None:
        self._reads.pop(user_id, None)
        if not read.cancelled():
            read.exception()  # a failed background refresh must not warn "never retrieved"

    def load(self, user_id: int) -> UserStatus | None:
        """Read from the database (blocking) and remember."""
        epoch = self._epoch
        status = self._load(user_id)
        with self._lock:
            if len(self._entries) > 100_000:
                self._entries.clear()
            if epoch == self._epoch:
                self._entries[user_id] = (time.monotonic(), status)
        return status

    def forget(self, user_id: int) -> None:
        """Drop one account's status: the next request reads it again."""
        with self._lock:
            self._epoch += 1
            self._entries.pop(user_id, None)

    def forget_all(self) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()


def status_loader(db: Database) -> Callable[[int], UserStatus | None]:
    def load(user_id: int) -> UserStatus | None:
        with db.session() as session:
            user = session.get(User, user_id)
            return UserStatus.of(user) if user is not None else None

    return load
