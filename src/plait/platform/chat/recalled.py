"""The knowledge chunks a turn put before its model, told to clients the way Coze tells them: a ``verbose``
message whose ``msg_type`` is ``knowledge_recall`` and whose data lists the chunks (``slice``, ``score``,
``meta.dataset``, ``meta.document``), so a Coze client that reads Coze's recall reads ours. Plait adds each
chunk's ``chunk_id``, its ``scores`` by retriever (``hybrid`` fused, ``bm25``, ``vector``: those the search
mode computed) and ``truncated``: a slice is cut at `SLICE_CHARS`, the model saw all of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plait.platform.datasets import chunk_scores
from plait.schema import Document

SLICE_CHARS = 2000  # of a chunk's text in the message: enough to read, small enough for any stream


@dataclass(frozen=True, slots=True)
class KnowledgeRecalled:
    """The chunks a turn gave its model (searched before it answered, or by its knowledge tool), best first."""

    chunks: tuple[Document, ...]
    strategy: int  # Coze's search_strategy: which scores there are

    def to_json(self) -> dict[str, Any]:
        return {"chunks": [self._chunk(chunk) for chunk in self.chunks], "ori_req": "", "status_code": 0}

    def _chunk(self, chunk: Document) -> dict[str, Any]:
        meta = chunk.metadata
        return {
            "slice": chunk.content[:SLICE_CHARS],
            "score": chunk.score or 0.0,
            "meta": {
                "dataset": {"id": str(meta.get("dataset_id", "")), "name": str(meta.get("dataset_name", ""))},
                "document": {"id": str(meta.get("document_id", "")), "name": str(meta.get("document_name", ""))},
            },
            "chunk_id": chunk.id,
            "scores": chunk_scores(chunk, self.strategy),
            "truncated": len(chunk.content) > SLICE_CHARS,
        }
