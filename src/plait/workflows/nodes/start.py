"""start: where a run begins; its outputs are the workflow's inputs (checked against the declared parameters)."""

from __future__ import annotations

from typing import Any

from plait.workflows.nodes.base import EmptyConfig, NodeContext, NodeResult, NodeType, register


@register
class Start(NodeType[EmptyConfig]):
    type = "start"
    title = "Start"

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: EmptyConfig) -> NodeResult:
        return NodeResult(outputs=dict(ctx.run_inputs))
