"""message output: sends a message to the user mid-run, rendered from a template over the node's inputs, and
goes on (Coze's output node). The stream shows it as a Coze ``Message`` event with ``node_is_finish``, so a
client can show progress ("searching...") or partial results before the run ends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from plait.workflows.dsl import Body, Param
from plait.workflows.nodes._template import render_text, template_problems
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeResult, NodeType, register


class MessageConfig(NodeConfig):
    template: str = Field(min_length=1, description="the message, a template over the node's inputs")


@register
class MessageOutput(NodeType[MessageConfig]):
    type = "message"
    title = "Message output"
    Config = MessageConfig

    def outputs(self, config: MessageConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [Param(name="output", type="string")]

    def check(self, config: MessageConfig, node_inputs: Mapping[str, Any], body: Body | None) -> list[tuple[str, str]]:
        return template_problems(config.template, "config.template", node_inputs)

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: MessageConfig) -> NodeResult:
        text = render_text(config.template, inputs)
        ctx.emit_message(text)
        return NodeResult(outputs={"output": text})
