"""News of accounts that changed, from whoever changed them to every API worker.

Each worker keeps a user's role, disabled flag and token version in a status cache
(:class:`~nba_mlops.auth.users.UserStatusCache`) that it re-reads every
``serving.user_cache_ttl_s`` seconds. With a Redis URL (``REDIS_URL``) a change made
anywhere (``nba-mlops users set-password|revoke-tokens|disable|...`` on any host)
publishes the account's id on one Redis channel, and every worker of every replica
drops that account from its cache at once: a revoked token stops working everywhere
within milliseconds, not within the cache's lifetime. Redis publish/subscribe delivers
to whoever listens at that moment; a worker that was cut off re-reads everything when it
reconnects, and the cache's lifetime still bounds how long any miss can last.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from nba_mlops.log import get_logger

logger = get_logger(__name__)

CHANNEL = "nba-mlops:accounts"
#: Seconds between attempts to reach Redis again after it stopped answering.
RECONNECT_S = 1.0


def announce_change(redis_url: str | None, user_id: int) -> bool:
    """Tell every listening worker that account ``user_id`` changed; False when there is no
    Redis to tell (or it did not answer: workers then notice within the cache's lifetime)."""
    if not redis_url:
        return False
    import redis

    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.publish(CHANNEL, str(user_id))
        finally:
            client.close()
    except redis.RedisError as error:
        logger.warning("could not announce the change of account %d on Redis: %s", user_id, error)
        return False
    return True


class AccountNews:
    """A worker's subscription: calls ``forget(user_id)`` for every announced change, and
    ``forget_all()`` after (re)connecting, since news may have been missed meanwhile."""

    def __init__(
        self,
        redis_url: str,
        forget: Callable[[int], None],
        forget_all: Callable[[], None],
    ) -> None:
        self._url = redis_url
        self._forget = forget
        self._forget_all = forget_all
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen(), name="account-news")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        import redis.asyncio as aioredis
        from redis import RedisError

        warned = False
        while True:
            client = aioredis.Redis.from_url(self._url, socket_connect_timeout=2)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self._forget_all()  # whatever changed while nobody listened
                    self.subscribed.set()
                    if warned:
                        logger.info("account news: listening on Redis again")
                        warned = False
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._heard(message.get("data"))
            except (RedisError, OSError) as error:
                self.subscribed.clear()
                if not warned:
                    logger.warning(
                        "account news: Redis did not answer (%s); accounts changed "
                        "meanwhile are noticed within the status cache's lifetime",
                        error,
                    )
                    warned = True
                await asyncio.sleep(RECONNECT_S)
            finally:
                await client.aclose()

    def _heard(self, data: object) -> None:
        try:
            user_id = int(data.decode() if isinstance(data, bytes) else str(data))
        except ValueError:
            logger.warning("account news: ignored a message that is not an account id: %r", data)
            return
        self._forget(user_id)
