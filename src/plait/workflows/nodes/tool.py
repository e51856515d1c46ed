"""tool: calls one tool by name (a built-in such as calculator or http_request, or a workspace plugin's
operation) with the node's inputs as its arguments; its result is the ``output``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from plait.components import Tool
from plait.workflows.dsl import Param
from plait.workflows.nodes.base import (
    NodeConfig,
    NodeContext,
    NodeError,
    NodeResult,
    NodeType,
    ServiceMissing,
    register,
)


class ToolConfig(NodeConfig):
    tool: str = Field(min_length=1, description="the tool's name: a built-in, or plugin/operation")


class MappingTools:
    """A ``ToolSource`` over tools in hand, by name: local runs and tests."""

    def __init__(self, tools: Mapping[str, Tool] | Sequence[Tool]) -> None:
        self.tools = dict(tools) if isinstance(tools, Mapping) else {tool.spec.name: tool for tool in tools}

    async def get_tool(self, name: str) -> Tool | None:
        return self.tools.get(name)


@register
class ToolCall(NodeType[ToolConfig]):
    type = "tool"
    title = "Plugin / tool"
    Config = ToolConfig

    def outputs(self, config: ToolConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [Param(name="output", type="any")]

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: ToolConfig) -> NodeResult:
        tools = ctx.services.tools
        if tools is None:
            raise ServiceMissing(ctx.node_id, f"tool {config.tool!r} needs a tool source, and this run has none")
        tool = await tools.get_tool(config.tool)
        if tool is None:
            raise NodeError(ctx.node_id, f"no tool named {config.tool!r} is available to this run")
        return NodeResult(outputs={"output": await tool.call(inputs)})
