"""The LRU embedding cache: repeated texts are not embedded again, order and copies are kept; a shared tier
(what the platform keeps in Redis) is asked once per call for the LRU's misses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from plait.components import Embedder
from plait.embeddings import CachedEmbedder, EmbeddingCache


class CountingEmbedder:
    """Vectors made from the text, and a record of every batch it was asked for."""

    dimension = 2

    def __init__(self, identity: str = "counting/v1") -> None:
        self.identity = identity
        self.calls: list[list[str]] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [[float(len(text)), float(sum(map(ord, text)))] for text in texts]


async def test_repeated_texts_are_embedded_once() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner)
    assert isinstance(cached, Embedder)
    assert cached.dimension == 2
    first = await cached.embed(["a", "bb", "a", "ccc"])
    again = await cached.embed(["ccc", "dddd", "a"])
    assert inner.calls == [["a", "bb", "ccc"], ["dddd"]]
    assert first == await inner.embed(["a", "bb", "a", "ccc"])
    assert again == await inner.embed(["ccc", "dddd", "a"])
    assert (cached.cache.hits, cached.cache.misses) == (2, 4)


async def test_all_hits_make_no_call_and_empty_input_none() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner)
    await cached.embed(["x", "y"])
    assert await cached.embed(["y", "x", "y"]) == [[1.0, 121.0], [1.0, 120.0], [1.0, 121.0]]
    assert await cached.embed([]) == []
    assert len(inner.calls) == 1


async def test_returned_vectors_are_copies() -> None:
    cached = CachedEmbedder(CountingEmbedder())
    first, repeated = await cached.embed(["x", "x"])
    first[0] = 99.0
    assert repeated[0] == 1.0
    (later,) = await cached.embed(["x"])
    later[1] = -1.0
    assert await cached.embed(["x"]) == [[1.0, 120.0]]


async def test_least_recently_used_entries_are_evicted() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, max_entries=2)
    await cached.embed(["a", "b"])
    await cached.embed(["a"])  # "a" is now the most recent
    await cached.embed(["c"])  # evicts "b"
    await cached.embed(["a", "b"])
    assert inner.calls == [["a", "b"], ["c"], ["b"]]
    assert len(cached.cache) == 2


async def test_a_shared_cache_keeps_models_apart() -> None:
    shared = EmbeddingCache()
    one, other = CountingEmbedder("model/one"), CountingEmbedder("model/two")
    await CachedEmbedder(one, cache=shared).embed(["x"])
    await CachedEmbedder(other, cache=shared).embed(["x"])
    await CachedEmbedder(CountingEmbedder("model/one"), cache=shared).embed(["x"])  # same identity: a hit
    assert (len(one.calls), len(other.calls), len(shared)) == (1, 1, 2)


async def test_without_an_identity_embedders_never_share_entries() -> None:
    shared = EmbeddingCache()
    first, second = CountingEmbedder(identity=""), CountingEmbedder(identity="")
    await CachedEmbedder(first, cache=shared).embed(["x"])
    await CachedEmbedder(second, cache=shared).embed(["x"])
    assert (len(first.calls), len(second.calls)) == (1, 1)


async def test_bad_input_and_settings() -> None:
    cached = CachedEmbedder(CountingEmbedder())
    with pytest.raises(TypeError, match="item 0 is NoneType"):
        await cached.embed([None])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="max_entries"):
        EmbeddingCache(0)


class DictVectors:
    """A shared tier in a dict (as Redis keeps it for the platform), noting each round trip."""

    def __init__(self) -> None:
        self.vectors: dict[tuple[str, str], list[float]] = {}
        self.trips: list[str] = []

    async def get_many(self, identity: str, texts: Sequence[str]) -> list[list[float] | None]:
        self.trips.append(f"get {len(texts)}")
        return [self.vectors.get((identity, text)) for text in texts]

    async def put_many(self, identity: str, vectors: Mapping[str, Sequence[float]]) -> None:
        self.trips.append(f"put {len(vectors)}")
        self.vectors |= {(identity, text): list(vector) for text, vector in vectors.items()}


async def test_a_shared_tier_is_asked_once_for_the_misses_and_given_what_was_embedded() -> None:
    shared = DictVectors()
    one, two = CountingEmbedder(), CountingEmbedder()
    first = await CachedEmbedder(one, shared=shared).embed(["a", "bb"])
    second = CachedEmbedder(two, shared=shared)  # another process: its own LRU, the same shared tier
    assert await second.embed(["bb", "ccc", "a", "bb"]) == [first[1], [3.0, 297.0], first[0], first[1]]
    assert await second.embed(["ccc"]) == [[3.0, 297.0]]  # from its own LRU: no round trip
    assert one.calls == [["a", "bb"]] and two.calls == [["ccc"]]
    assert shared.trips == ["get 2", "put 2", "get 3", "put 1"]
