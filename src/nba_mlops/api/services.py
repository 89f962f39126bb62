"""What one API process holds: database, predictor, writer, token codec, caches, limiters."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from nba_mlops import metrics
from nba_mlops.api.web import find_web_dist
from nba_mlops.auth.news import AccountNews
from nba_mlops.auth.passwords import HashCost, PasswordHashing, hash_cost
from nba_mlops.auth.throttle import Throttle
from nba_mlops.auth.tokens import TokenCodec, load_or_create_secret
from nba_mlops.auth.users import UserStatusCache, ensure_admin, status_loader
from nba_mlops.config import Settings
from nba_mlops.db.session import Database
from nba_mlops.db.writer import PredictionWriter
from nba_mlops.inference.predictor import Predictor, ShotScorer
from nba_mlops.inference.remote import RemotePredictor
from nba_mlops.log import get_logger
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
    hashing: PasswordHashing
    hash_cost: HashCost
    signups_by_address: Throttle
    logins_by_address: Throttle
    login_failures: Throttle
    refresher: MetricsRefresher | None
    web_dist: Path | None
    news: AccountNews | None = None

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
            hashing=PasswordHashing(
                serving.password_hash_concurrency,
                serving.password_hash_queue,
                serving.password_hash_wait_s,
            ),
            hash_cost=hash_cost(settings),
            signups_by_address=Throttle(serving.signup_limits, redis_url=settings.redis_url),
            logins_by_address=Throttle(serving.login_limits, redis_url=settings.redis_url),
            login_failures=Throttle(serving.login_failure_limits, redis_url=settings.redis_url),
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
        if self.settings.redis_url:
            self.news = AccountNews(
                self.settings.redis_url, self.users.forget, self.users.forget_all
            )
            self.news.start()

    async def stop(self) -> None:
        if self.news is not None:
            await self.news.stop()
        if self.refresher is not None:
            await self.refresher.stop()
        await self.predictor.stop()
        await self.writer.stop()
        self.hashing.close()
        self.db.dispose()

    async def _bootstrap_admin(self) -> None:
        username = self.settings.admin_username
        if not username or self.settings.admin_password is None:
            return
        try:
            await asyncio.to_thread(ensure_admin, self.db, self.settings)
        except Exception as exc:  # a database down at start must not stop the server
            logger.warning("could not create the administrator %r now: %s", username, exc)
