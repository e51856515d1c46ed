"""conversation history: the chatflow conversation's latest messages, oldest first, as ``messages``
(``{id, role, content, content_type}``) for an llm node's prompt; read through the platform's
``Conversations``, so a local run fails saying it has none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from plait.workflows.dsl import Param
from plait.workflows.nodes._conversation_id import CONVERSATION_INPUT, conversation_id
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeResult, NodeType, register
from plait.workflows.ports import Conversations


class HistoryConfig(NodeConfig):
    limit: int = Field(default=10, ge=1, le=100, description="the latest messages to read")


@register
class ConversationHistory(NodeType[HistoryConfig]):
    type = "conversation_history"
    title = "Conversation history"
    Config = HistoryConfig

    def inputs(self, config: HistoryConfig) -> Sequence[Param]:
        return [CONVERSATION_INPUT]

    def outputs(self, config: HistoryConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [Param(name="messages", type="array[object]")]

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: HistoryConfig) -> NodeResult:
        why = "conversation history reads a chatflow's messages"
        store = ctx.services.require(Conversations, ctx.node_id, why)  # type: ignore[type-abstract]
        found = await store.recent_messages(conversation_id(ctx, inputs), config.limit, ctx.system)
        return NodeResult(outputs={"messages": [message.to_json() for message in found[-config.limit :]]})
