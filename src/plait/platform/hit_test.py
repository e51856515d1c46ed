"""Hit testing: what one dataset's search finds for a query, so its owner sees what a bot would be given; the
studio runs it once per search strategy to show them side by side."""

from __future__ import annotations

from dataclasses import dataclass, field

from plait.platform.access import Principal
from plait.platform.dataset_indexes import DatasetIndexes
from plait.platform.datasets import chunk_scores, search_datasets
from plait.platform.errors import InvalidParams, NotFound
from plait.store import UnitOfWork

MAX_TOP_K = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    document_id: str
    document_name: str
    chunk_id: str
    content: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)  # by retriever (`chunk_scores`)


async def hit_test(
    uow: UnitOfWork,
    principal: Principal,
    dataset_id: str,
    query: str,
    *,
    indexes: DatasetIndexes,
    top_k: int = 5,
    strategy: int = 0,
) -> list[Hit]:
    """The best chunks, best first; an unknown dataset is 4200 (a search alone would quietly find nothing).
    ``strategy`` is Coze's search_strategy: 0 hybrid, 1 semantic (vectors), 20 full text (BM25)."""
    if await uow.datasets.get(principal.workspace_id, dataset_id) is None:
        raise NotFound(f"dataset {dataset_id} not found")
    if not query.strip():
        raise InvalidParams("query: must not be empty")
    if not 1 <= top_k <= MAX_TOP_K:
        raise InvalidParams(f"top_k: 1 to {MAX_TOP_K}")
    found = await search_datasets(
        uow, principal.workspace_id, [dataset_id], query, indexes=indexes, top_k=top_k, strategy=strategy
    )
    return [
        Hit(
            document_id=str(chunk.metadata.get("document_id", "")),
            document_name=str(chunk.metadata.get("document_name", "")),
            chunk_id=chunk.id,
            content=chunk.content,
            score=float(chunk.score or 0.0),
            scores=chunk_scores(chunk, strategy),
        )
        for chunk in found
    ]
