"""What one API process holds: database, predictor, writer, token codec, caches, limiters."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from nba_mlops.api.web import find_web_dist
from nba_mlops.auth.ratelimit import SlidingWindowLimiter
from nba_mlops.auth.tokens import TokenCodec, load_or_create_secret
from nba_mlops.auth.users import UserStatusCache, ensure_admin, status_loader
from nba_mlops.config import Settings
from nba_mlops.db.session import Database
from nba_mlops.db.writer import PredictionWriter
from nba_mlops.inference.predictor import Predictor, ShotScorer
from nba_mlops.inference.remote import RemotePredictor
from nba_mlops.log import get_logger
from nba_mlops.monitoring import metrics
from nba_mlops.monitoring.refresh import MetricsRefresher

logger = get_logger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    predictor: ShotScorer
    writer: PredictionWriter
    tokens: TokenCodec
    users: UserStatusCache
    login_by_username: SlidingWindowLimiter
    login_by_address: SlidingWindowLimiter
    refresher: MetricsRefresher | None
    web_dist: Path | None

    @classmethod
    def build(cls, settings: Settings, *, predictor: ShotScorer | None = None) -> Services:
        serving = settings.serving
        db = Database(settings)
        if predictor is None:
            url = settings.prediction_service_url
            predictor = RemotePredictor(settings, url) if url else Predictor(settings)
        return cls(
            settings=settings,
            db=db,
            predictor=predictor,
            writer=PredictionWriter(db, max_batch=serving.write_max_batch),
            tokens=TokenCodec(load_or_create_secret(settings), serving.token_ttl_minutes),
            users=UserStatusCache(status_loader(db), serving.user_cache_ttl_s),
            login_by_username=SlidingWindowLimiter(serving.login_attempts_per_minute, 60.0),
            login_by_address=SlidingWindowLimiter(
                serving.login_attempts_per_address_per_minute, 60.0
            ),
            refresher=MetricsRefresher(settings, db) if serving.refresh_interval_s > 0 else None,
            web_dist=find_web_dist(settings),
        )

    async def start(self) -> None:
        metrics.forget_dead_workers()
        self.writer.start()
        await self._bootstrap_admin()
        await self.predictor.start()
        if self.refresher is not None:
            self.refresher.start()

    async def stop(self) -> None:
        if self.refresher is not None:
            await self.refresher.stop()
        await self.predictor.stop()
        await self.writer.stop()
        self.db.dispose()

    async def _bootstrap_admin(self) -> None:
        username, password = self.settings.admin_username, self.settings.admin_password
        if not username or password is None:
            return
        try:
            await asyncio.to_thread(ensure_admin, self.db, username, password.get_secret_value())
        except Exception as exc:  # a database down at start must not stop the server
            logger.warning("could not create the administrator %r now: %s", username, exc)
