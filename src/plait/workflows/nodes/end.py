"""end: the run's result, either its inputs as output variables, or an answer rendered from a template and
sent to the user as a message (streamed in pieces in a streaming run)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import model_validator

from plait.workflows.dsl import Body, Param
from plait.workflows.nodes._template import render_text, template_problems
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeResult, NodeType, register


class EndConfig(NodeConfig):
    mode: Literal["variables", "answer"] = "variables"
    template: str = ""

    @model_validator(mode="after")
    def _needs_template(self) -> EndConfig:
        if self.mode == "answer" and not self.template:
            raise ValueError("answer mode needs a template (for example '{{ answer }}')")
        return self


@register
class End(NodeType[EndConfig]):
    type = "end"
    title = "End"
    Config = EndConfig

    def outputs(self, config: EndConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [Param(name="answer", type="string")] if config.mode == "answer" else None

    def check(self, config: EndConfig, node_inputs: Mapping[str, Any], body: Body | None) -> list[tuple[str, str]]:
        return template_problems(config.template, "config.template", node_inputs) if config.mode == "answer" else []

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: EndConfig) -> NodeResult:
        if config.mode == "variables":
            return NodeResult(outputs=dict(inputs))
        answer = render_text(config.template, inputs)
        if ctx.streaming:
            pieces = answer.split("\n")
            for index, piece in enumerate(pieces):
                last = index == len(pieces) - 1
                ctx.emit_message(piece if last else piece + "\n", stream_end=last)
        else:
            ctx.emit_message(answer)
        return NodeResult(outputs={**inputs, "answer": answer})
