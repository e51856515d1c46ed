"""One process's connection to Redis (``PLAIT_REDIS_URL``), what the workers of a deployment share besides the
database: the event streams of running chats, the control channel of each instance, the rate-limit buckets and
the job queue. Every key starts with the deployment's prefix (``PLAIT_REDIS_PREFIX``), so several deployments
(or tests) may share one Redis.

Loaded only when Redis is configured: ``redis`` is the optional extra ``plait[redis]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 1.0  # a listener whose connection dropped subscribes again after this
REDIS_ERRORS = (RedisError, OSError, TimeoutError)  # what Redis out of reach raises


class Outage:
    """For a part that does without Redis while it is out of reach (rate limits, shared vectors): after a
    failure, ``down`` for ``seconds`` (no request waits on a dead server meanwhile), and one warning per outage."""

    def __init__(self, what: str, seconds: float = 5.0, timeout: float = 1.0) -> None:
        self.what = what
        self.seconds = seconds
        self.timeout = timeout
        self._until = 0.0

    @property
    def down(self) -> bool:
        return time.monotonic() < self._until

    @contextlib.asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Run a Redis call within ``timeout``; a failure marks the outage (logged) and is raised again."""
        try:
            async with asyncio.timeout(self.timeout):
                yield
        except REDIS_ERRORS:
            self._until = time.monotonic() + self.seconds
            log.warning(
                "%s: Redis is out of reach; going on without it for %.0f s", self.what, self.seconds, exc_info=True
            )
            raise


class RedisHub:
    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self.redis: Redis = Redis.from_url(url)
        self._listeners: set[asyncio.Task[None]] = set()

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def ping(self) -> None:
        """Raise unless Redis answers (``/ready``)."""
        if not await self.redis.ping():
            raise RedisError("PING was not answered")

    async def append(self, key: str, payload: bytes, *, ttl_seconds: int) -> None:
        """Add an entry to a stream and keep the stream ``ttl_seconds`` past it: one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(key, {"b": payload})
            pipe.expire(key, ttl_seconds)
            await pipe.execute()

    async def entries(self, key: str, after: str, *, block_ms: int) -> list[tuple[str, bytes]]:
        """The stream's entries after id ``after`` (``0``: from the first), waiting up to ``block_ms`` for one."""
        found = await self.redis.xread({key: after}, block=block_ms)
        return [(entry_id.decode(), fields[b"b"]) for _, entries in found for entry_id, fields in entries]

    async def exists(self, key: str) -> bool:
        return bool(await self.redis.exists(key))

    async def publish(self, channel: str, message: str) -> None:
        await self.redis.publish(channel, message)

    def listen(self, channel: str, handler: Callable[[str], None]) -> None:
        """Call ``handler`` with each message published on ``channel``, until ``aclose``; a dropped connection
        is subscribed again (what was published meanwhile is lost: the heartbeat's reconcile catches up)."""
        task = asyncio.create_task(self._listen(channel, handler), name=f"redis listener {channel}")
        self._listeners.add(task)
        task.add_done_callback(self._listeners.discard)

    async def _listen(self, channel: str, handler: Callable[[str], None]) -> None:
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(channel)
                    async for message in pubsub.listen():
                        handler(message["data"].decode())
            except (RedisError, OSError):
                log.warning("redis channel %s: connection lost; subscribing again", channel, exc_info=True)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def aclose(self) -> None:
        for task in list(self._listeners):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._listeners, return_exceptions=True)
        await self.redis.aclose()
