"""Protocols of the knowledge pipeline: load, split, embed, index, retrieve, rerank."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from plait.schema import Document


@runtime_checkable
class Loader(Protocol):
    """Turns a source (a path, URL or bytes) into documents that keep where they came from."""

    async def load(self, source: Any) -> list[Document]: ...


@runtime_checkable
class Splitter(Protocol):
    """Cuts documents into chunks; each chunk keeps its parent's metadata."""

    async def split(self, documents: Sequence[Document]) -> list[Document]: ...


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to vectors of ``dimension`` floats, in the order given."""

    @property
    def dimension(self) -> int: ...  # read-only: an attribute or a property (a wrapper's, a remote model's)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


@runtime_checkable
class Indexer(Protocol):
    """Stores documents for later retrieval and returns their ids."""

    async def index(self, documents: Sequence[Document]) -> list[str]: ...


@runtime_checkable
class Retriever(Protocol):
    """Finds the documents most relevant to a query, best first, each with a score."""

    async def retrieve(self, query: str, **options: Any) -> list[Document]: ...


@runtime_checkable
class Reranker(Protocol):
    """Re-orders candidate documents for a query, best first, keeping at most ``top_k``."""

    async def rerank(
        self, query: str, documents: Sequence[Document], *, top_k: int | None = None
    ) -> list[Document]: ...
