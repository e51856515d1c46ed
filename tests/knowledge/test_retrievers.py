"""Retrievers: keyword, vector and hybrid; fusion arithmetic, options, reranking, concurrency, parent expansion."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from plait.components.retrieval import Embedder, Reranker, Retriever
from plait.knowledge.index.bm25 import BM25Index
from plait.knowledge.index.vectors import ExactVectorStore
from plait.knowledge.retrievers import (
    HybridRetriever,
    KeywordRetriever,
    VectorRetriever,
    reciprocal_rank_fusion,
    weighted_fusion,
)
from plait.schema import Document


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def scored(*pairs: tuple[str, float]) -> list[Document]:
    return [Document(id=doc_id, content=f"text of {doc_id}", score=score) for doc_id, score in pairs]


class Fixed:
    """A retriever that answers every query with the same list, recording the options it was called with."""

    def __init__(self, documents: list[Document]) -> None:
        self.documents = documents
        self.calls: list[dict[str, Any]] = []

    async def retrieve(self, query: str, **options: Any) -> list[Document]:
        self.calls.append(options)
        return self.documents[: options.get("top_k")]


class HashEmbedder:
    """Deterministic bag-of-words vectors: each word adds one to a dimension chosen by its hash."""

    dimension = 32

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = np.zeros((len(texts), self.dimension))
        for row, text in enumerate(texts):
            for word in words(text):
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        return (vectors + 1e-3).tolist()


class Reverse:
    """A reranker that reverses the candidates and scores them by their new position."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int | None]] = []

    async def rerank(self, query: str, documents: Sequence[Document], *, top_k: int | None = None) -> list[Document]:
        self.seen.append((len(documents), top_k))
        reordered = [Document(id=d.id, content=d.content, score=float(i)) for i, d in enumerate(reversed(documents))]
        return reordered[:top_k]


def test_the_fakes_implement_the_protocols() -> None:
    assert isinstance(Fixed([]), Retriever) and isinstance(HashEmbedder(), Embedder) and isinstance(Reverse(), Reranker)


def test_reciprocal_rank_fusion_by_hand() -> None:
    keyword = scored(("a", 9.0), ("b", 5.0), ("c", 1.0))
    vector = scored(("c", 0.9), ("a", 0.8), ("d", 0.7))
    fused = reciprocal_rank_fusion({"keyword": keyword, "vector": vector}, k=60)
    assert [d.id for d in fused] == ["a", "c", "b", "d"]
    assert [d.score for d in fused] == pytest.approx([1 / 61 + 1 / 62, 1 / 63 + 1 / 61, 1 / 62, 1 / 63])
    assert fused[1].metadata == {"keyword_rank": 3, "keyword_score": 1.0, "vector_rank": 1, "vector_score": 0.9}
    assert fused[3].metadata == {"vector_rank": 3, "vector_score": 0.7}
    # A small k lets agreement between the lists beat a single first place: c = 1/4 + 1/2, b = 2/3, a = 1/2.
    fused = reciprocal_rank_fusion({"keyword": keyword, "vector": scored(("c", 0.9), ("b", 0.1))}, k=1)
    assert [(d.id, d.score) for d in fused] == [("c", pytest.approx(0.75)), ("b", pytest.approx(2 / 3)), ("a", 0.5)]
    # Ties keep the order first seen: the keyword list's.
    tied = reciprocal_rank_fusion({"keyword": scored(("x", 1.0)), "vector": scored(("y", 1.0))})
    assert [d.id for d in tied] == ["x", "y"]


def test_weighted_fusion_normalises_each_list_by_min_max() -> None:
    keyword = scored(("a", 10.0), ("b", 5.0), ("c", 0.0))
    vector = scored(("c", 0.9), ("a", 0.5), ("d", 0.1))
    fused = weighted_fusion({"keyword": keyword, "vector": vector}, {"keyword": 0.3, "vector": 0.7})
    assert [(d.id, d.score) for d in fused] == [
        ("c", pytest.approx(0.7)),
        ("a", pytest.approx(0.3 + 0.7 * 0.5)),
        ("b", pytest.approx(0.15)),
        ("d", pytest.approx(0.0)),
    ]
    same = weighted_fusion({"keyword": scored(("a", 2.0), ("b", 2.0)), "vector": []}, {"keyword": 0.5, "vector": 0.5})
    assert [d.score for d in same] == [0.5, 0.5]


async def test_hybrid_fuses_and_passes_options_to_both_sides() -> None:
    keyword = Fixed(scored(("a", 10.0), ("b", 5.0), ("c", 0.0)))
    vector = Fixed(scored(("c", 0.9), ("a", 0.5), ("d", 0.1)))
    hybrid = HybridRetriever(keyword, vector, fusion="weighted", weights=(0.3, 0.7), candidates=7)
    found = await hybrid.retrieve("q", top_k=2, filters={"lang": "en"})
    assert [d.id for d in found] == ["c", "a"]
    assert keyword.calls == vector.calls == [{"top_k": 7, "filters": {"lang": "en"}}]
    rrf = await HybridRetriever(keyword, vector, rrf_k=60).retrieve("q", top_k=3)
    assert [d.id for d in rrf] == ["a", "c", "b"]
    assert rrf[0].score == pytest.approx(1 / 61 + 1 / 62)


async def test_score_threshold_applies_to_each_retrievers_own_score() -> None:
    keyword = Fixed(scored(("a", 10.0), ("b", 5.0), ("c", 0.0)))
    vector = Fixed(scored(("c", 0.9), ("a", 0.5), ("d", 0.1)))
    hybrid = HybridRetriever(keyword, vector, fusion="weighted", weights=(0.3, 0.7), score_threshold=0.5)
    assert [d.id for d in await hybrid.retrieve("q")] == ["c", "a"]
    assert [d.id for d in await hybrid.retrieve("q", score_threshold=0.1)] == ["c", "a", "b"]

    index = BM25Index(words)
    index.add([Document(id="1", content="cat cat cat"), Document(id="2", content="cat and a dog and more words")])
    scores = [d.score for d in await KeywordRetriever(index).retrieve("cat")]
    assert len(scores) == 2 and scores[0] is not None and scores[1] is not None
    between = (scores[0] + scores[1]) / 2
    assert [d.id for d in await KeywordRetriever(index, score_threshold=between).retrieve("cat")] == ["1"]


async def test_the_reranker_reorders_a_wider_pool_after_the_threshold() -> None:
    inner = Fixed(scored(*((f"d{i}", 1.0 - i / 100) for i in range(30))))
    reranker = Reverse()
    hybrid = HybridRetriever(inner, Fixed([]), fusion="weighted", weights=(1.0, 0.0), candidates=20, reranker=reranker)
    found = await hybrid.retrieve("q", top_k=3, score_threshold=0.5)
    # 20 candidates, normalised to 1 - i/19: d0 .. d9 reach 0.5 and go to the reranker, which keeps 3.
    assert reranker.seen == [(10, 3)]
    assert [(d.id, d.score) for d in found] == [("d9", 0.0), ("d8", 1.0), ("d7", 2.0)]


async def test_hybrid_runs_both_sides_concurrently() -> None:
    started = {"keyword": asyncio.Event(), "vector": asyncio.Event()}

    class Waiting:
        """Finishes only once the other side has started: run one after the other, the pair would never end."""

        def __init__(self, side: str, other: str) -> None:
            self.side, self.other = side, other

        async def retrieve(self, query: str, **options: Any) -> list[Document]:
            started[self.side].set()
            await started[self.other].wait()
            return scored((self.side, 1.0))

    hybrid = HybridRetriever(Waiting("keyword", "vector"), Waiting("vector", "keyword"))
    found = await asyncio.wait_for(hybrid.retrieve("q"), timeout=5)
    assert [d.id for d in found] == ["keyword", "vector"]


async def test_keyword_vector_and_hybrid_over_real_indexes() -> None:
    corpus = {
        "solar": "solar panels turn sunlight into electricity",
        "wind": "wind turbines turn wind into electricity",
        "bread": "bake bread with flour water and yeast",
        "cake": "bake a cake with flour sugar and eggs",
    }
    metadata = {"solar": {"topic": "energy"}, "wind": {"topic": "energy"}, "bread": {"topic": "food"}}
    documents = [Document(id=k, content=v, metadata=metadata.get(k, {"topic": "food"})) for k, v in corpus.items()]
    index = BM25Index(words)
    index.add(documents)
    embedder = HashEmbedder()
    store = ExactVectorStore(dimension=embedder.dimension)
    vectors = await embedder.embed([d.content for d in documents])
    await store.upsert(
        [d.id for d in documents],
        vectors,
        contents=[d.content for d in documents],
        metadata=[d.metadata for d in documents],
    )

    keyword, vector = KeywordRetriever(index), VectorRetriever(store, embedder, top_k=2)
    assert isinstance(keyword, Retriever) and isinstance(vector, Retriever)
    assert [d.id for d in await keyword.retrieve("bake bread")] == ["bread", "cake"]
    assert (await vector.retrieve("bake bread with flour"))[0].id == "bread"
    assert len(await vector.retrieve("bake bread")) == 2
    hybrid = HybridRetriever(keyword, vector, top_k=3)
    found = await hybrid.retrieve("wind electricity", filters={"topic": "energy"})
    assert found[0].id == "wind" and {d.metadata["topic"] for d in found} == {"energy"}
    assert found[0].metadata["keyword_rank"] == 1 and "vector_rank" in found[0].metadata
    with pytest.raises(TypeError, match="unknown retrieve options"):
        await hybrid.retrieve("q", k=3)
    with pytest.raises(ValueError, match="unknown fusion"):
        HybridRetriever(keyword, vector, fusion="max")


async def test_parent_expansion_returns_each_parent_once_at_its_best_chunk() -> None:
    chunks = [
        Document(id="c1", content="chunk 1", metadata={"parent_id": "p1"}, score=0.9),
        Document(id="c3", content="chunk 3", metadata={"parent_id": "p2"}, score=0.8),
        Document(id="c4", content="chunk 4", metadata={}, score=0.7),
        Document(id="c2", content="chunk 2", metadata={"parent_id": "p1"}, score=0.6),
        Document(id="c5", content="chunk 5", metadata={"parent_id": "gone"}, score=0.5),
    ]
    parents = {
        "p1": Document(id="p1", content="the whole first document", metadata={"title": "one"}),
        "p2": Document(id="p2", content="the whole second document", metadata={"title": "two"}),
    }
    asked: list[list[str]] = []

    async def lookup(ids: list[str]) -> Mapping[str, Document]:
        asked.append(ids)
        return {doc_id: parents[doc_id] for doc_id in ids if doc_id in parents}

    retriever = HybridRetriever(Fixed(chunks), Fixed([]), fusion="weighted", weights=(1.0, 0.0), parents=lookup)
    expanded = await retriever.retrieve("q")
    assert asked == [["p1", "p2", "gone"]]
    # Fused scores are the chunks' normalised: c1 1.0, c3 0.75, c4 0.5, c2 0.25, c5 0.0.
    assert [(d.id, d.content, d.score) for d in expanded] == [
        ("p1", "the whole first document", pytest.approx(1.0)),
        ("p2", "the whole second document", pytest.approx(0.75)),
        ("c4", "chunk 4", pytest.approx(0.5)),
        ("c5", "chunk 5", pytest.approx(0.0)),
    ]
    assert expanded[0].metadata == {"title": "one", "chunk_ids": ["c1", "c2"]}
    assert parents["p1"].metadata == {"title": "one"}  # the looked-up documents are not changed
    assert [d.id for d in await retriever.retrieve("q", top_k=2)] == ["p1", "p2"]
