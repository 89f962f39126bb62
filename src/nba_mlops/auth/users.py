"""User accounts: create, authenticate, enable or disable, and a short-lived status cache."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nba_mlops.auth.passwords import hash_password, verify_password
from nba_mlops.db.models import ROLE_ADMIN, ROLE_USER, User
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


@dataclass(frozen=True, slots=True)
class UserStatus:
    """What a request needs to know about its caller, without a database round trip."""

    id: int
    username: str
    role: str
    disabled: bool

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @classmethod
    def of(cls, user: User) -> UserStatus:
        return cls(id=user.id, username=user.username, role=user.role, disabled=user.disabled)


def create_user(session: Session, username: str, password: str, *, admin: bool = False) -> User:
    """Add a user; raises :class:`UsernameTakenError` when the name exists."""
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=ROLE_ADMIN if admin else ROLE_USER,
        disabled=False,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise UsernameTakenError(username) from exc
    return user


def get_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user when the password matches, else None (same time either way)."""
    user = get_by_username(session, username)
    ok = verify_password(password, user.password_hash if user else None)
    return user if ok and user is not None else None


def set_disabled(session: Session, username: str, disabled: bool) -> User:
    user = get_by_username(session, username)
    if user is None:
        raise UnknownUserError(username)
    user.disabled = disabled
    session.commit()
    return user


def set_password(session: Session, username: str, password: str) -> User:
    user = get_by_username(session, username)
    if user is None:
        raise UnknownUserError(username)
    user.password_hash = hash_password(password)
    session.commit()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def ensure_admin(db: Database, username: str, password: str) -> bool:
    """Create the administrator from the environment when missing; True when created.

    An existing account of that name is left as it is: the environment never overwrites
    a password or a role someone changed since.
    """
    with db.session() as session:
        if get_by_username(session, username) is not None:
            return False
        try:
            create_user(session, username, password, admin=True)
        except UsernameTakenError:  # another process created it a moment ago
            return False
    logger.info("created administrator %r from the environment", username)
    return True


class UserStatusCache:
    """Role and disabled flag per user id, never older than ``ttl_s``.

    Keeps the per-request cost of "is this caller still allowed?" at a dictionary look-up:
    an entry past 80% of its life is re-read in the background while still answering, so
    steady traffic never waits for the database; concurrent misses share one read.
    Disabling a user takes effect within ``ttl_s`` on every process.
    """

    def __init__(self, load: Callable[[int], UserStatus | None], ttl_s: float) -> None:
        self._load = load
        self._ttl_s = ttl_s
        self._entries: dict[int, tuple[float, UserStatus | None]] = {}
        self._reads: dict[int, asyncio.Future[UserStatus | None]] = {}
        self._lock = threading.Lock()

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
        status = self._load(user_id)
        with self._lock:
            if len(self._entries) > 100_000:
                self._entries.clear()
            self._entries[user_id] = (time.monotonic(), status)
        return status

    def forget(self, user_id: int) -> None:
        with self._lock:
            self._entries.pop(user_id, None)


def status_loader(db: Database) -> Callable[[int], UserStatus | None]:
    def load(user_id: int) -> UserStatus | None:
        with db.session() as session:
            user = session.get(User, user_id)
            return UserStatus.of(user) if user is not None else None

    return load
