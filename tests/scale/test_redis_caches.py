"""The caches on the machine's Redis: what one process's relay publishes, another's hears and its caches forget
(a message that is not a list of changes is logged and dropped); a text one process embedded is read by another
instead of embedded again, and Redis out of reach only means embedding on one's own. A server on Redis caches
its model's embeddings there."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_harness import free_port

from plait.embeddings.cache import CachedEmbedder
from plait.embeddings.hashing import HashingEmbedder
from plait.platform import caches
from plait.platform.caches import CacheRelay
from plait.server.app import create_app
from plait.settings import Settings
from plait.store.changes import Change
from plait.store.redis_hub import RedisHub
from plait.store.redis_vectors import RedisVectors


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


class Counted(HashingEmbedder):
    """The hashing embedder, noting each batch it was asked for."""

    identity = "counted-hashing/v1"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return await super().embed(texts)


async def test_a_text_one_process_embedded_is_read_by_another(redis_url: str, redis_prefix: str) -> None:
    hubs = RedisHub(redis_url, redis_prefix), RedisHub(redis_url, redis_prefix)
    one, two = Counted(), Counted()
    try:
        first = await CachedEmbedder(one, shared=RedisVectors(hubs[0])).embed(["tides", "moon"])
        second = await CachedEmbedder(two, shared=RedisVectors(hubs[1])).embed(["moon", "sea", "tides"])
        ttl = await hubs[0].redis.ttl(RedisVectors(hubs[0])._key("counted-hashing/v1", "sea"))
    finally:
        for hub in hubs:
            await hub.aclose()
    assert one.calls == [["tides", "moon"]] and two.calls == [["sea"]]  # moon and tides came from Redis
    assert second[0] == first[1] and second[2] == first[0]  # exactly: stored as float64
    assert second[1] == (await HashingEmbedder().embed(["sea"]))[0]
    assert 0 < ttl <= 7 * 86_400


async def test_without_redis_an_embedder_embeds_on_its_own(redis_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    hub = RedisHub(f"redis://127.0.0.1:{free_port()}/0", redis_prefix)
    inner = Counted()
    embedder = CachedEmbedder(inner, shared=RedisVectors(hub))
    try:
        with caplog.at_level(logging.WARNING, logger="plait.store.redis_hub"):
            assert await embedder.embed(["a", "b"]) == await HashingEmbedder().embed(["a", "b"])
            await embedder.embed(["c"])
    finally:
        await hub.aclose()
    assert inner.calls == [["a", "b"], ["c"]]
    assert len([r for r in caplog.records if "Redis is out of reach" in r.getMessage()]) == 1  # once an outage


def test_a_server_on_redis_caches_its_models_embeddings_there(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    settings = Settings.load(
        data_dir=tmp_path, database_url="", embedder="hashing", redis_url=redis_url, redis_prefix=redis_prefix
    )
    with TestClient(create_app(settings)) as client:
        datasets = client.app.state.services.datasets  # type: ignore[attr-defined]
        embedder = datasets.embedder("local/all-minilm-l6-v2")  # the model loads on first use: not here
        assert isinstance(embedder, CachedEmbedder) and isinstance(embedder.shared, RedisVectors)
        assert isinstance(datasets.embedder("hashing"), HashingEmbedder)  # faster than any cache
