"""The cache channel on the machine's Redis: what one process's relay publishes, another's hears and its caches
forget; a message that is not a list of changes is logged and dropped."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest

from plait.platform import caches
from plait.platform.caches import CacheRelay
from plait.store.changes import Change
from plait.store.redis_hub import RedisHub


@dataclass(slots=True, weakref_slot=True, eq=False)
class Heard:
    forgotten: list[Change] = field(default_factory=list)

    def forget(self, topic: str, key: str) -> None:
        self.forgotten.append((topic, key))


async def _until(check: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not heard"
        await asyncio.sleep(0.02)


async def test_a_change_sent_by_one_process_is_forgotten_by_another(
    redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    sender_hub, listener_hub = RedisHub(redis_url, redis_prefix), RedisHub(redis_url, redis_prefix)
    sender, listener = CacheRelay(sender_hub), CacheRelay(listener_hub)
    heard = Heard()
    caches.register(heard)
    try:
        listener.start()
        await asyncio.sleep(0.3)  # the listener's SUBSCRIBE is in place
        await listener_hub.publish(listener_hub.key("caches"), "not json")
        sender.send([("api_key", "42"), ("bot", "w 7")])
        await _until(lambda: heard.forgotten == [("api_key", "42"), ("bot", "w 7")])
    finally:
        await sender.aclose()
        await listener.aclose()
        await sender_hub.aclose()
        await listener_hub.aclose()
    assert any("not a list of changes" in record.getMessage() for record in caplog.records)
