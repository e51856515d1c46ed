"""break and continue: inside a loop's body, end the loop after this iteration, or end this iteration; the body
nodes after them do not run. Coze's loop has the same two nodes."""

from __future__ import annotations

from typing import Any

from plait.workflows.nodes.base import Control, EmptyConfig, NodeContext, NodeResult, NodeType, register


class _LoopControl(NodeType[EmptyConfig]):
    control: Control

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: EmptyConfig) -> NodeResult:
        return NodeResult(control=self.control)


@register
class Break(_LoopControl):
    type = "break"
    title = "Break"
    control = "break"


@register
class Continue(_LoopControl):
    type = "continue"
    title = "Continue"
    control = "continue"
