"""Knowledge search as a tool: the model asks a question and gets back the passages a retriever finds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plait.components import Retriever
from plait.schema import Document, ToolSpec
from plait.tools.errors import InvalidArguments

MAX_QUERY_CHARS = 2_000
_SOURCE_KEYS = ("document_name", "source", "file_name", "title", "url")
_HIDDEN_METADATA = {"vector"}


class KnowledgeSearch:
    """Wraps any ``Retriever``; ``top_k`` from the model is bounded by ``max_top_k``, so one call stays small."""

    def __init__(
        self,
        retriever: Retriever,
        *,
        name: str = "search_knowledge",
        description: str = "Search the knowledge base for passages relevant to a question.",
        default_top_k: int = 5,
        max_top_k: int = 20,
    ) -> None:
        if not 1 <= default_top_k <= max_top_k:
            raise ValueError(f"need 1 <= default_top_k <= max_top_k, got {default_top_k} and {max_top_k}")
        self.retriever = retriever
        self.default_top_k, self.max_top_k = default_top_k, max_top_k
        self.spec = ToolSpec(
            name=name,
            description=description,
            parameters={
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What to look for, in words."},
                    "top_k": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": max_top_k,
                        "description": f"How many passages to return (default {default_top_k}).",
                    },
                },
                "required": ["query"],
            },
        )

    async def call(self, arguments: Mapping[str, Any]) -> list[dict[str, Any]]:
        query, top_k = self._arguments(arguments)
        found = await self.retriever.retrieve(query, top_k=top_k)
        return [passage(document) for document in found[:top_k]]

    def _arguments(self, arguments: Mapping[str, Any]) -> tuple[str, int]:
        problems: list[tuple[str, str]] = []
        query = arguments.get("query")
        if not isinstance(query, str) or not query.strip():
            problems.append(("query", "must be a non-empty string"))
        elif len(query) > MAX_QUERY_CHARS:
            problems.append(("query", f"is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}"))
        top_k = arguments.get("top_k", self.default_top_k)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= self.max_top_k:
            problems.append(("top_k", f"must be a whole number from 1 to {self.max_top_k}"))
        if problems or not isinstance(query, str) or not isinstance(top_k, int):
            raise InvalidArguments(self.spec.name, problems)
        return query.strip(), top_k


def passage(document: Document) -> dict[str, Any]:
    """A retrieved document as the model reads it: the text, its score, where it came from and its metadata."""
    metadata = {key: value for key, value in document.metadata.items() if key not in _HIDDEN_METADATA}
    source = next((str(metadata[key]) for key in _SOURCE_KEYS if metadata.get(key)), document.id)
    return {
        "id": document.id,
        "content": document.content,
        "score": document.score,
        "source": source,
        "metadata": metadata,
    }
