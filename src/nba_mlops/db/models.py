"""ORM models of the application database (the API schemas live in ``nba_mlops.api.schemas``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so migrations can address them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLE_USER = "user"
ROLE_ADMIN = "admin"
# May verify any prediction (a normal user only their own); labels of labelers and
# administrators are the person labels live-quality monitoring counts.
ROLE_LABELER = "labeler"
ROLES = (ROLE_USER, ROLE_LABELER, ROLE_ADMIN)
# Why a prediction was asked for: a real shot (it can be verified, feeds live accuracy and
# drift) or a grid cell of a floor map such as the court page's heat map (stored like
# every answer, but it has no outcome and says nothing about the shots being taken).
PURPOSE_SHOT = "shot"
PURPOSE_GRID = "grid"
PURPOSES = (PURPOSE_SHOT, PURPOSE_GRID)
# Where a prediction's outcome came from: the ingest that brought the shot (the data,
# ground truth: ``shot_outcomes``) or a person who said what happened (the prediction's
# ``verified_*`` columns). When both are known the data's counts; nothing overwrites the
# other.
SOURCE_DATA = "data"
SOURCE_USER = "user"
# Who asked: an API request, or the daily loop scoring the day's shots before their
# outcomes are ingested (``nba_mlops.daily``).
ORIGIN_API = "api"
ORIGIN_DAILY = "daily"
ORIGINS = (ORIGIN_API, ORIGIN_DAILY)

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonDocument = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('user', 'labeler', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    # The name normalised and case-folded (nba_mlops.auth.usernames): unique, so that
    # names differing only in case or Unicode form are one account name.
    username_key: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10), default=ROLE_USER)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Raised by a password change or a revocation: tokens carrying an older one are refused.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (
        CheckConstraint("label IN (0, 1)", name="label"),
        CheckConstraint("verified_outcome IN (0, 1)", name="verified_outcome"),
        CheckConstraint("purpose IN ('shot', 'grid')", name="purpose"),
        CheckConstraint("origin IN ('api', 'daily')", name="origin"),
        Index("ix_predictions_user_id_id", "user_id", "id"),
        # The ingest that brings a shot finds the predictions of that shot through this.
        Index(
            "ix_predictions_game_shot",
            "game_id",
            "game_event_id",
            postgresql_where="game_id IS NOT NULL",
            sqlite_where="game_id IS NOT NULL",
        ),
        # The verification queue and live quality read one side of this split each.
        Index(
            "ix_predictions_unverified",
            "id",
            postgresql_where="verified_outcome IS NULL AND purpose = 'shot'",
            sqlite_where="verified_outcome IS NULL AND purpose = 'shot'",
        ),
        Index(
            "ix_predictions_verified",
            "id",
            postgresql_where="verified_outcome IS NOT NULL",
            sqlite_where="verified_outcome IS NOT NULL",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    input: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    probability: Mapped[float] = mapped_column(Float)
    label: Mapped[int] = mapped_column(SmallInteger)
    model_version: Mapped[str] = mapped_column(String(32))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    verified_outcome: Mapped[int | None] = mapped_column(SmallInteger)
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purpose: Mapped[str] = mapped_column(
        String(8), default=PURPOSE_SHOT, server_default=PURPOSE_SHOT
    )
    # The NBA's ids of the shot asked about (Game ID, Game Event ID), when the caller
    # sent them: the ingest that brings the shot records its outcome (``ShotOutcome``).
    game_id: Mapped[int | None] = mapped_column(BigInteger)
    game_event_id: Mapped[int | None] = mapped_column(Integer)
    # The role of the person who labelled it (``verified_by``), when they did.
    verified_role: Mapped[str | None] = mapped_column(String(10))
    # 'api' or 'daily' (ORIGIN_*), and for the daily loop the day's file it scored.
    origin: Mapped[str] = mapped_column(String(8), default=ORIGIN_API, server_default=ORIGIN_API)
    run: Mapped[str | None] = mapped_column(String(120))


class ShotOutcome(Base):
    """The real outcome of a shot that predictions were asked about, recorded by the ingest
    that brought the shot (``nba_mlops.db.verification``): ground truth, once per shot,
    for every prediction with the shot's ids. Never overwritten."""

    __tablename__ = "shot_outcomes"
    __table_args__ = (CheckConstraint("made IN (0, 1)", name="made"),)

    game_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    game_event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    made: Mapped[int] = mapped_column(SmallInteger)
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- the online feature table: the shot history as of the store's last ingest ----------------
# Written by every ingest (``nba_mlops.features.online.publish``), read by every serving
# process, which keeps a copy in memory and reloads it when ``data_version`` changes.
class OnlineSnapshot(Base):
    """Which store version the online tables hold (one row)."""

    __tablename__ = "online_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_version: Mapped[str] = mapped_column(String(64))
    feature_version: Mapped[str] = mapped_column(String(16))
    latest_season: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OnlineTally(Base):
    """A tally's sums for one key after its last stored shot (``features.history``)."""

    __tablename__ = "online_tallies"

    tally: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    season: Mapped[int] = mapped_column(Integer)
    n: Mapped[float] = mapped_column(Float)
    made: Mapped[float] = mapped_column(Float)
    excess: Mapped[float] = mapped_column(Float)


class OnlineLeague(Base):
    """Shots and makes per season, zone and action type, for the league's expected rates."""

    __tablename__ = "online_league"

    season: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone: Mapped[str] = mapped_column(String(40), primary_key=True)
    action: Mapped[str] = mapped_column(String(120), primary_key=True)
    n: Mapped[float] = mapped_column(Float)
    made: Mapped[float] = mapped_column(Float)


class OnlineGameShot(Base):
    """A stored shot of a recent game, for the game-so-far context of a new shot."""

    __tablename__ = "online_game_shots"

    game_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    game_event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    period: Mapped[int] = mapped_column(SmallInteger)
    clock: Mapped[int] = mapped_column(Integer)
    player_id: Mapped[int] = mapped_column(BigInteger)
    team_id: Mapped[int | None] = mapped_column(BigInteger)
    made: Mapped[int | None] = mapped_column(SmallInteger)
    three: Mapped[bool] = mapped_column(Boolean)
    distance: Mapped[float] = mapped_column(Float)
