"""The process's caches of records read on every request and rarely changed (a key's principal, a published bot,
a workspace's model providers) forget an entry as soon as its record changes, instead of serving it until their
TTL ends: a commit in this process tells them at once (`plait.store.changes`), and with Redis (`CacheRelay`)
every process is told over pub/sub within milliseconds. The TTLs stay, as the backstop for a message lost while
a process's Redis connection was down."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import TYPE_CHECKING, Protocol

import orjson

from plait.store import changes
from plait.store.changes import Change

if TYPE_CHECKING:  # redis is the optional extra plait[redis]: the relay is made only when Redis is configured
    from plait.store.redis_hub import RedisHub

log = logging.getLogger(__name__)


class Forgetful(Protocol):
    def forget(self, topic: str, key: str) -> None:
        """Drop what is cached of the record ``key`` of kind ``topic`` (see `plait.store.changes`)."""
        ...


_caches: weakref.WeakSet[Forgetful] = weakref.WeakSet()  # a closed service's caches are not kept alive
_relays: set[CacheRelay] = set()


def register(cache: Forgetful) -> None:
    _caches.add(cache)


def forget(found: list[Change]) -> None:
    for cache in list(_caches):
        for topic, key in found:
            cache.forget(topic, key)


def _committed(found: list[Change]) -> None:
    forget(found)
    for relay in _relays:
        relay.send(found)


changes.listen(_committed)


class CacheRelay:
    """The changes this process commits, published on the deployment's cache channel; those every process
    commits, received from it and forgotten here."""

    def __init__(self, hub: RedisHub) -> None:
        self._hub = hub
        self._channel = hub.key("caches")
        self._sending: set[asyncio.Task[None]] = set()

    def start(self, *, listen: bool = True) -> None:
        """Publish this process's changes from now on; and, ``listen``, forget the other processes' (a CLI
        command, which caches nothing, only publishes)."""
        if listen:
            self._hub.listen(self._channel, self._received)
        _relays.add(self)

    def send(self, found: list[Change]) -> None:
        """Called in the committing task (a sync SQLAlchemy event): the publish runs as a task of its own."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a commit outside the event loop (a thread's own session): the TTLs cover it
            log.warning("cached records changed outside the event loop: not told to the other processes")
            return
        task = loop.create_task(self._publish(orjson.dumps(found).decode()))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _publish(self, message: str) -> None:
        try:
            await self._hub.publish(self._channel, message)
        except Exception:  # the other processes' TTLs end their copies
            log.warning("could not tell the other processes that cached records changed", exc_info=True)

    def _received(self, message: str) -> None:
        try:
            found = [(str(topic), str(key)) for topic, key in orjson.loads(message)]
        except (orjson.JSONDecodeError, TypeError, ValueError):
            log.warning("cache channel: a message that is not a list of changes: %.200s", message)
            return
        forget(found)

    async def aclose(self) -> None:
        """Stop relaying, after the publishes in flight (a CLI command's revoke must reach the servers)."""
        _relays.discard(self)
        await asyncio.gather(*self._sending, return_exceptions=True)
