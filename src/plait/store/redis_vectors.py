"""Embeddings every process of a deployment shares (`plait.embeddings.cache.SharedVectors` on Redis): a text one
process embedded (a query, a chunk ingested again) is read by the others in one round trip instead of being run
through the model again. A vector is a string of float64s under ``<prefix>:emb:<sha256 of identity and text>``,
kept ``ttl_seconds`` after it was last stored. Redis out of reach: nothing is found and nothing stored, for a
few seconds (logged once), and the embedder embeds as without it.

Loaded only when Redis is configured: ``redis`` is the optional extra ``plait[redis]``.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Mapping, Sequence

from plait.store.redis_hub import REDIS_ERRORS, Outage, RedisHub

TTL_SECONDS = 7 * 86_400


class RedisVectors:
    def __init__(self, hub: RedisHub, ttl_seconds: int = TTL_SECONDS) -> None:
        self._hub = hub
        self._ttl = ttl_seconds
        self._outage = Outage("shared embeddings (each process embeds on its own meanwhile)")

    def _key(self, identity: str, text: str) -> str:
        return self._hub.key("emb", hashlib.sha256(f"{identity}\0{text}".encode()).hexdigest())

    async def get_many(self, identity: str, texts: Sequence[str]) -> list[list[float] | None]:
        if self._outage.down or not texts:
            return [None] * len(texts)
        try:
            async with self._outage.guard():
                found = await self._hub.redis.mget([self._key(identity, text) for text in texts])
        except REDIS_ERRORS:
            return [None] * len(texts)
        return [array("d", value).tolist() if value else None for value in found]

    async def put_many(self, identity: str, vectors: Mapping[str, Sequence[float]]) -> None:
        if self._outage.down or not vectors:
            return
        try:
            async with self._outage.guard(), self._hub.redis.pipeline(transaction=False) as pipe:
                for text, vector in vectors.items():
                    pipe.set(self._key(identity, text), array("d", vector).tobytes(), ex=self._ttl)
                await pipe.execute()
        except REDIS_ERRORS:
            return
