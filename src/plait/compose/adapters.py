"""Components as nodes: each protocol says which of its methods is the node's invoke and stream."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plait.components import (
    ChatModel,
    Embedder,
    Indexer,
    Loader,
    PromptTemplate,
    Reranker,
    Retriever,
    Splitter,
    Tool,
)
from plait.compose.runnable import Lambda
from plait.schema import Document, Message


def adapt_component(component: Any) -> Lambda[Any, Any] | None:
    """A Lambda over the component's protocol methods, or None when it implements no protocol."""
    name = getattr(component, "name", None) or type(component).__name__
    if isinstance(component, ChatModel):
        return Lambda(
            component.generate,
            stream=component.stream,
            name=getattr(component, "model_id", name),
            input_type=Sequence[Message],
            output_type=Message,
        )
    if isinstance(component, PromptTemplate):
        return Lambda(component.format, name=name, input_type=Mapping[str, Any], output_type=list[Message])
    if isinstance(component, Retriever):
        return Lambda(component.retrieve, name=name, input_type=str, output_type=list[Document])
    if isinstance(component, Reranker):

        async def rerank(request: Mapping[str, Any]) -> list[Document]:
            return await component.rerank(request["query"], request["documents"], top_k=request.get("top_k"))

        return Lambda(rerank, name=name)
    if isinstance(component, Embedder):
        return Lambda(component.embed, name=name, input_type=Sequence[str], output_type=list[list[float]])
    if isinstance(component, Indexer):
        return Lambda(component.index, name=name, input_type=Sequence[Document], output_type=list[str])
    if isinstance(component, Splitter):
        return Lambda(component.split, name=name, input_type=Sequence[Document], output_type=list[Document])
    if isinstance(component, Loader):
        return Lambda(component.load, name=name, output_type=list[Document])
    if isinstance(component, Tool):
        return Lambda(component.call, name=component.spec.name, input_type=Mapping[str, Any])
    return None
