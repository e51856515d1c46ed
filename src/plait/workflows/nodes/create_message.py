"""create message: adds a message to the chatflow conversation (a note for later turns, an answer to keep),
through the platform's ``Conversations``; a local run fails saying it has none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from plait.workflows.dsl import Param
from plait.workflows.nodes._conversation_id import CONVERSATION_INPUT, conversation_id
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register
from plait.workflows.ports import Conversations


class CreateMessageConfig(NodeConfig):
    role: Literal["user", "assistant"] = "assistant"


@register
class CreateMessage(NodeType[CreateMessageConfig]):
    type = "create_message"
    title = "Create message"
    Config = CreateMessageConfig

    def inputs(self, config: CreateMessageConfig) -> Sequence[Param]:
        return [Param(name="content", type="string"), CONVERSATION_INPUT]

    def outputs(self, config: CreateMessageConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [Param(name="message", type="object")]

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: CreateMessageConfig) -> NodeResult:
        content = inputs.get("content")
        if not isinstance(content, str) or not content:
            raise NodeError(ctx.node_id, "input 'content' is empty: there is no message to add")
        why = "create message writes to a chatflow's conversation"
        store = ctx.services.require(Conversations, ctx.node_id, why)  # type: ignore[type-abstract]
        added = await store.add_message(conversation_id(ctx, inputs), config.role, content, ctx.system)
        return NodeResult(outputs={"message": added.to_json()})
