"""variable aggregate: after branches join, picks the value of whichever branch ran. Each group lists input
names in order; its output is the first that is not null. Without groups, the output is ``output``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from plait.workflows.dsl import Body, Param
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeResult, NodeType, register


class AggregateConfig(NodeConfig):
    groups: dict[str, list[str]] = Field(default_factory=dict, description="output name -> input names, in order")


@register
class VariableAggregate(NodeType[AggregateConfig]):
    type = "variable_aggregate"
    title = "Variable aggregate"
    Config = AggregateConfig

    def outputs(self, config: AggregateConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [Param(name=name, type="any") for name in config.groups or ["output"]]

    def check(
        self, config: AggregateConfig, node_inputs: Mapping[str, Any], body: Body | None
    ) -> list[tuple[str, str]]:
        return [
            (f"config.groups.{group}", f"{name!r} is not an input of the node")
            for group, names in config.groups.items()
            for name in names
            if name not in node_inputs
        ]

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: AggregateConfig) -> NodeResult:
        groups = config.groups or {"output": list(inputs)}
        return NodeResult(
            outputs={
                group: next((inputs[n] for n in names if inputs.get(n) is not None), None)
                for group, names in groups.items()
            }
        )
