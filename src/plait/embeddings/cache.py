"""An in-memory LRU cache in front of any embedder, so texts seen again (queries, unchanged chunks on
re-ingestion) cost a dictionary lookup instead of a model call; optionally over a second tier that several
processes share (`SharedVectors`: the platform backs it with Redis), so a text one process embedded is not
embedded again by the others."""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Protocol

from plait.components.retrieval import Embedder
from plait.embeddings.base import check_texts, identity_of


class EmbeddingCache:
    """Vectors by (embedder identity, text), least recently used evicted first. Keyed by identity, one cache
    can be shared by several embedders without mixing their vectors. Vectors are kept as float64 arrays
    (8 bytes a dimension: 10,000 vectors of 384 take about 30 MB)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[str, str], array[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, identity: str, text: str) -> list[float] | None:
        """A fresh copy of the vector (callers may change it), or None."""
        vector = self._entries.get((identity, text))
        if vector is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end((identity, text))
        return vector.tolist()

    def put(self, identity: str, text: str, vector: Sequence[float]) -> None:
        self._entries[(identity, text)] = array("d", vector)
        self._entries.move_to_end((identity, text))
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class SharedVectors(Protocol):
    """Vectors by (embedder identity, text) that several processes share, asked for what a process's own cache
    lacks. A shared store that fails (its server out of reach) answers "not found" and stores nothing rather
    than raise: the embedder then embeds, as without it."""

    async def get_many(self, identity: str, texts: Sequence[str]) -> list[list[float] | None]: ...

    async def put_many(self, identity: str, vectors: Mapping[str, Sequence[float]]) -> None: ...


class CachedEmbedder:
    """Embeds only the texts the caches have not seen (each distinct text once per call) and keeps the order
    of the input: the process's LRU first, then ``shared`` (one round trip for all the misses). It has the inner
    embedder's identity, so it can itself be cached or shared."""

    def __init__(
        self,
        inner: Embedder,
        *,
        max_entries: int = 10_000,
        cache: EmbeddingCache | None = None,
        shared: SharedVectors | None = None,
    ) -> None:
        self.inner = inner
        self.cache = cache if cache is not None else EmbeddingCache(max_entries)
        self.shared = shared
        self.identity = identity_of(inner)

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        items = check_texts(texts)
        found: dict[str, list[float]] = {}
        missing: dict[str, None] = {}  # an ordered set: each distinct text once
        for text in items:
            if text in found or text in missing:
                continue
            vector = self.cache.get(self.identity, text)
            if vector is None:
                missing[text] = None
            else:
                found[text] = vector
        if missing and self.shared is not None:
            for text, vector in zip(
                list(missing), await self.shared.get_many(self.identity, list(missing)), strict=True
            ):
                if vector is not None:
                    self.cache.put(self.identity, text, vector)
                    found[text] = vector
                    del missing[text]
        if missing:
            made = dict(zip(missing, await self.inner.embed(list(missing)), strict=True))
            for text, vector in made.items():
                self.cache.put(self.identity, text, vector)
                found[text] = vector
            if self.shared is not None:
                await self.shared.put_many(self.identity, made)
        return [list(found[text]) for text in items]  # copies: a repeated text must not share one list
