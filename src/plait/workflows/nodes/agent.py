"""agent: runs a bot of the workspace with a message, through the platform's ``BotRunner`` (the bot's own
persona, model, tools and knowledge), and outputs its answer; in a streaming run the answer's pieces stream as
the node's chunks. A local run has no bots: the node fails saying so."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from plait.workflows.dsl import Param
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register
from plait.workflows.ports import BotRequest, BotRunner


class AgentConfig(NodeConfig):
    bot_id: str = Field(min_length=1)


@register
class Agent(NodeType[AgentConfig]):
    type = "agent"
    title = "Agent"
    Config = AgentConfig

    def inputs(self, config: AgentConfig) -> Sequence[Param]:
        return [
            Param(name="message", type="string"),
            Param(name="conversation_id", type="string", required=False),
            Param(name="variables", type="object", required=False),
        ]

    def outputs(self, config: AgentConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [Param(name="answer", type="string"), Param(name="conversation_id", type="string", required=False)]

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: AgentConfig) -> NodeResult:
        message = inputs.get("message")
        if not isinstance(message, str) or not message.strip():
            raise NodeError(ctx.node_id, "input 'message' is empty: there is nothing to send the bot")
        why = "an agent node runs a bot of the workspace"
        runner = ctx.services.require(BotRunner, ctx.node_id, why)  # type: ignore[type-abstract]
        variables = {str(k): str(v) for k, v in (inputs.get("variables") or {}).items()}
        request = BotRequest(
            bot_id=config.bot_id,
            message=message,
            conversation_id=inputs.get("conversation_id"),
            variables=variables,
        )
        answer = await runner.run_bot(request, ctx.system, ctx.emit_chunk if ctx.streaming else None)
        return NodeResult(outputs={"answer": answer.text, "conversation_id": answer.conversation_id})
