"""knowledge retrieval: searches datasets for the ``query`` input. The run's services must carry a
``DatasetSearch`` (the platform gives one over a workspace's datasets; ``RetrieverDatasets`` wraps retrievers in
hand); without one the node fails with ``ServiceMissing``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic import Field

from plait.components import Retriever
from plait.schema import Document
from plait.workflows.dsl import Param
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register


@runtime_checkable
class DatasetSearch(Protocol):
    async def search(self, dataset_ids: Sequence[str], query: str, *, top_k: int) -> list[Document]: ...


class RetrieverDatasets:
    """Datasets as retrievers in hand, by id: a local run's knowledge."""

    def __init__(self, retrievers: Mapping[str, Retriever]) -> None:
        self.retrievers = dict(retrievers)

    async def search(self, dataset_ids: Sequence[str], query: str, *, top_k: int) -> list[Document]:
        found: list[Document] = []
        for dataset_id in dataset_ids:
            retriever = self.retrievers.get(dataset_id)
            if retriever is None:
                raise KeyError(f"no dataset {dataset_id!r}")
            found.extend(await retriever.retrieve(query, top_k=top_k))
        found.sort(key=lambda d: d.score if d.score is not None else 0.0, reverse=True)
        return found[:top_k]


class KnowledgeConfig(NodeConfig):
    dataset_ids: list[str] = Field(min_length=1, max_length=20)
    top_k: int = Field(default=5, ge=1, le=50)
    min_score: float | None = Field(default=None, description="drop passages scored below this")


@register
class KnowledgeRetrieval(NodeType[KnowledgeConfig]):
    type = "knowledge_retrieval"
    title = "Knowledge retrieval"
    Config = KnowledgeConfig

    def inputs(self, config: KnowledgeConfig) -> Sequence[Param]:
        return [Param(name="query", type="string")]

    def outputs(self, config: KnowledgeConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [Param(name="documents", type="array[object]"), Param(name="text", type="string")]

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: KnowledgeConfig) -> NodeResult:
        why = "knowledge retrieval searches a workspace's datasets"
        search = ctx.services.require(DatasetSearch, ctx.node_id, why)  # type: ignore[type-abstract]
        query = inputs.get("query")
        if not isinstance(query, str) or not query.strip():
            raise NodeError(ctx.node_id, "input 'query' must be a non-empty string")
        try:
            found = await search.search(config.dataset_ids, query, top_k=config.top_k)
        except KeyError as exc:
            raise NodeError(ctx.node_id, str(exc.args[0])) from None
        if config.min_score is not None:
            found = [d for d in found if d.score is not None and d.score >= config.min_score]
        documents = [{"content": d.content, "score": d.score, "metadata": dict(d.metadata)} for d in found]
        return NodeResult(outputs={"documents": documents, "text": "\n\n".join(d.content for d in found)})
