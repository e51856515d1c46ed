"""What all splitters share: cleaning, chunk ids and metadata, and running off the event loop."""

from __future__ import annotations

import asyncio
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from plait.knowledge.splitters.clean import clean
from plait.schema import Document

Length = Callable[[str], int]
# Metadata about a whole document that would only bloat every chunk: the Markdown/HTML outline (a chunk
# has its own ``heading_path``).
DOCUMENT_ONLY = frozenset({"headings"})


def check_sizes(chunk_size: int, chunk_overlap: int) -> None:
    if chunk_size < 1 or not 0 <= chunk_overlap < chunk_size:
        raise ValueError(f"need chunk_size >= 1 and 0 <= chunk_overlap < chunk_size, got {chunk_size}, {chunk_overlap}")


def parent_key(document: Document) -> str:
    """The document's id; one without an id is named by a hash of its content, so chunk ids stay stable."""
    return document.id or "doc-" + hashlib.sha256(document.content.encode()).hexdigest()[:16]


class BaseSplitter(ABC):
    """A splitter cuts each document's cleaned text into pieces; this class turns the pieces into chunk
    Documents. Each chunk inherits its parent's metadata (except ``DOCUMENT_ONLY``) and adds ``chunk_index``,
    ``parent_id`` and ``document_id`` (the id of the document first split, kept when chunks are split
    again). Chunk ids are ``<parent id>#<chunk_index>``."""

    def __init__(self, *, collapse_spaces: bool = True, remove_urls_emails: bool = False) -> None:
        self.collapse_spaces = collapse_spaces
        self.remove_urls_emails = remove_urls_emails

    async def split(self, documents: Sequence[Document]) -> list[Document]:
        # Tokenising is CPU work: a large upload would stall every other request on the loop.
        return await asyncio.to_thread(self._split_all, list(documents))

    @abstractmethod
    def _pieces(self, text: str, document: Document) -> Iterable[tuple[str, dict[str, Any]]]:
        """Chunk texts of one document's cleaned text, each with metadata to add to the chunk."""

    def _split_all(self, documents: list[Document]) -> list[Document]:
        chunks: list[Document] = []
        for document in documents:
            text = clean(
                document.content, collapse_spaces=self.collapse_spaces, remove_urls_emails=self.remove_urls_emails
            )
            pieces = [(content.strip(), extra) for content, extra in self._pieces(text, document) if content.strip()]
            parent_id = parent_key(document)
            for index, (content, extra) in enumerate(pieces):
                metadata = {key: value for key, value in document.metadata.items() if key not in DOCUMENT_ONLY}
                metadata |= extra
                metadata |= {
                    "chunk_index": index,
                    "parent_id": parent_id,
                    "document_id": document.metadata.get("document_id", parent_id),
                }
                chunks.append(Document(id=f"{parent_id}#{index}", content=content, metadata=metadata))
        return chunks
