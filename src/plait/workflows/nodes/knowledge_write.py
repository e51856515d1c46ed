"""knowledge write: adds the ``text`` input to a dataset of the workspace as a new document, which the platform
chunks and indexes like an uploaded one (``KnowledgeWriter``); a local run has no datasets and fails saying
so. Coze's knowledge writer takes a file; this takes text, which an http or llm node upstream can produce."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from plait.workflows.dsl import Param
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register
from plait.workflows.ports import KnowledgeWriter

MAX_NAME = 100


class KnowledgeWriteConfig(NodeConfig):
    dataset_id: str = Field(min_length=1)


@register
class KnowledgeWrite(NodeType[KnowledgeWriteConfig]):
    type = "knowledge_write"
    title = "Knowledge write"
    Config = KnowledgeWriteConfig

    def inputs(self, config: KnowledgeWriteConfig) -> Sequence[Param]:
        return [Param(name="text", type="string"), Param(name="name", type="string", required=False)]

    def outputs(self, config: KnowledgeWriteConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [Param(name="document_id", type="string"), Param(name="name", type="string")]

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: KnowledgeWriteConfig) -> NodeResult:
        text = inputs.get("text")
        if not isinstance(text, str) or not text.strip():
            raise NodeError(ctx.node_id, "input 'text' is empty: there is nothing to add to the dataset")
        why = "knowledge write adds to a workspace dataset"
        writer = ctx.services.require(KnowledgeWriter, ctx.node_id, why)  # type: ignore[type-abstract]
        name = inputs.get("name") or _name(text)
        written = await writer.add_text(config.dataset_id, str(name)[:MAX_NAME], text, ctx.system)
        return NodeResult(outputs={"document_id": written.document_id, "name": written.name})


def _name(text: str) -> str:
    """A document name from the text's first line, as a person would title a note."""
    first = text.strip().splitlines()[0].strip()
    return first[: MAX_NAME - 3] + "..." if len(first) > MAX_NAME else first
