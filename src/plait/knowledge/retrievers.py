"""Retrievers: keyword (BM25), vector (an Embedder and a VectorStore) and hybrid (both at once, fused).

Every retriever takes the options ``top_k``, ``score_threshold`` (on its own score: BM25, cosine or fused) and
``filters`` (metadata, see ``plait.knowledge.index.filters``), defaulting to those it was built with. An optional
reranker re-orders a wider pool of candidates, and an optional parent lookup swaps chunks for the documents they
were cut from, so a model reads the whole context.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from plait.components.retrieval import Embedder, Reranker, Retriever
from plait.knowledge.index.bm25 import BM25Index
from plait.knowledge.index.vectors import VectorStore
from plait.schema import Document

ParentLookup = Callable[[list[str]], Awaitable[Mapping[str, Document]]]
OPTIONS = ("top_k", "score_threshold", "filters")
FUSIONS = ("rrf", "weighted")


def _fuse(lists: Mapping[str, Sequence[Document]], gain: Callable[[str, int, Document], float]) -> list[Document]:
    """Sum each list's ``gain(list, rank, document)`` per document id; ties keep the order first seen.

    Each result records its rank and score in every list that had it: ``<list>_rank``, ``<list>_score``.
    """
    fused: dict[str, Document] = {}
    scores: dict[str, float] = {}
    for name, documents in lists.items():
        for rank, document in enumerate(documents, start=1):
            entry = fused.get(document.id)
            if entry is None:
                entry = fused[document.id] = Document(id=document.id, content=document.content)
                entry.metadata.update(document.metadata)
                scores[document.id] = 0.0
            entry.metadata |= {f"{name}_rank": rank, f"{name}_score": document.score}
            scores[document.id] += gain(name, rank, document)
    for doc_id, document in fused.items():
        document.score = scores[doc_id]
    return sorted(fused.values(), key=lambda document: -scores[document.id])


def reciprocal_rank_fusion(lists: Mapping[str, Sequence[Document]], k: int = 60) -> list[Document]:
    """Score = sum over lists of 1 / (k + rank), rank from 1: rank-based, so BM25 and cosine need no scaling."""
    return _fuse(lists, lambda _name, rank, _document: 1.0 / (k + rank))


def weighted_fusion(lists: Mapping[str, Sequence[Document]], weights: Mapping[str, float]) -> list[Document]:
    """Score = sum over lists of weight * min-max normalised score (1.0 when a list's scores are all equal)."""
    bounds = {}
    for name, documents in lists.items():
        values = [document.score or 0.0 for document in documents]
        bounds[name] = (min(values, default=0.0), max(values, default=0.0))

    def gain(name: str, _rank: int, document: Document) -> float:
        low, high = bounds[name]
        normalised = ((document.score or 0.0) - low) / (high - low) if high > low else 1.0
        return weights[name] * normalised

    return _fuse(lists, gain)


class _Retriever(ABC):
    """The options, threshold, reranking and parent expansion that every retriever shares."""

    def __init__(
        self,
        *,
        top_k: int = 10,
        score_threshold: float | None = None,
        filters: Mapping[str, Any] | None = None,
        reranker: Reranker | None = None,
        parents: ParentLookup | None = None,
        candidates: int = 100,
    ) -> None:
        self.top_k, self.score_threshold, self.filters = top_k, score_threshold, filters
        self.reranker, self.parents, self.candidates = reranker, parents, candidates

    async def retrieve(self, query: str, **options: Any) -> list[Document]:
        unknown = set(options) - set(OPTIONS)
        if unknown:
            raise TypeError(f"unknown retrieve options {sorted(unknown)}; supported: {', '.join(OPTIONS)}")
        top_k: int = options.get("top_k", self.top_k)
        threshold: float | None = options.get("score_threshold", self.score_threshold)
        filters: Mapping[str, Any] | None = options.get("filters", self.filters)
        if top_k <= 0:
            return []
        widen = self.reranker is not None or self.parents is not None
        found = await self._search(query, max(top_k, self.candidates) if widen else top_k, filters)
        if threshold is not None:
            found = [document for document in found if document.score is not None and document.score >= threshold]
        if self.reranker is not None and found:
            found = await self.reranker.rerank(query, found, top_k=None if self.parents else top_k)
        if self.parents is not None:
            found = await self._expand(found, self.parents)
        return found[:top_k]

    @abstractmethod
    async def _search(self, query: str, top_k: int, filters: Mapping[str, Any] | None) -> list[Document]: ...

    @staticmethod
    async def _expand(chunks: list[Document], lookup: ParentLookup) -> list[Document]:
        """Swap chunks for their parents, each parent once, at its best chunk's place and score."""
        parent_ids = list(dict.fromkeys(str(c.metadata["parent_id"]) for c in chunks if "parent_id" in c.metadata))
        parents = await lookup(parent_ids) if parent_ids else {}
        expanded: dict[tuple[str, str], Document] = {}
        for chunk in chunks:
            parent_id = chunk.metadata.get("parent_id")
            parent = None if parent_id is None else parents.get(str(parent_id))
            if parent is None:
                expanded.setdefault(("chunk", chunk.id), chunk)
            elif (key := ("parent", parent.id)) in expanded:
                expanded[key].metadata["chunk_ids"].append(chunk.id)
            else:
                metadata = {**parent.metadata, "chunk_ids": [chunk.id]}
                expanded[key] = Document(id=parent.id, content=parent.content, metadata=metadata, score=chunk.score)
        return list(expanded.values())


class KeywordRetriever(_Retriever):
    """BM25 over a knowledge base's keyword index; searches run in a thread (a dirty index rebuilds first)."""

    def __init__(self, index: BM25Index, **options: Any) -> None:
        super().__init__(**options)
        self.index = index

    async def _search(self, query: str, top_k: int, filters: Mapping[str, Any] | None) -> list[Document]:
        return await asyncio.to_thread(self.index.search, query, top_k, filters)


class VectorRetriever(_Retriever):
    """Embeds the query and finds the nearest chunks in a vector store; the score is the cosine similarity."""

    def __init__(self, store: VectorStore, embedder: Embedder, **options: Any) -> None:
        super().__init__(**options)
        self.store, self.embedder = store, embedder

    async def _search(self, query: str, top_k: int, filters: Mapping[str, Any] | None) -> list[Document]:
        [vector] = await self.embedder.embed([query])
        return await self.store.search(vector, top_k, filters)


class HybridRetriever(_Retriever):
    """Keyword and vector retrieval run concurrently, fused by reciprocal rank or by weighted normalised score.

    Each side returns ``candidates`` documents; the fused score is the document's score, and each side's rank and
    score are in its metadata (``keyword_rank``, ``keyword_score``, ``vector_rank``, ``vector_score``).
    """

    def __init__(
        self,
        keyword: Retriever,
        vector: Retriever,
        *,
        fusion: str = "rrf",
        rrf_k: int = 60,
        weights: tuple[float, float] = (0.5, 0.5),
        **options: Any,
    ) -> None:
        if fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {fusion!r}; choose one of {', '.join(FUSIONS)}")
        super().__init__(**options)
        self.keyword, self.vector = keyword, vector
        self.fusion, self.rrf_k, self.weights = fusion, rrf_k, weights

    async def _search(self, query: str, top_k: int, filters: Mapping[str, Any] | None) -> list[Document]:
        wanted = {"top_k": max(top_k, self.candidates), "filters": filters}
        keyword, vector = await asyncio.gather(
            self.keyword.retrieve(query, **wanted), self.vector.retrieve(query, **wanted)
        )
        lists = {"keyword": keyword, "vector": vector}
        if self.fusion == "rrf":
            fused = reciprocal_rank_fusion(lists, self.rrf_k)
        else:
            fused = weighted_fusion(lists, {"keyword": self.weights[0], "vector": self.weights[1]})
        return fused[:top_k]
