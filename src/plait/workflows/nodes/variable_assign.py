"""variable assign: writes the run's variables (``$vars``). Each input names a variable and gives a value;
``ops`` says how it is written: set (default), append to a list, extend a list, add to a number, or clear."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from plait.workflows.dsl import Param
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register
from plait.workflows.types import describe

Op = Literal["set", "append", "extend", "add", "clear"]


class AssignConfig(NodeConfig):
    ops: dict[str, Op] = Field(default_factory=dict, description="variable name -> how to write it (default set)")


@register
class VariableAssign(NodeType[AssignConfig]):
    type = "variable_assign"
    title = "Variable assign"
    Config = AssignConfig

    def outputs(self, config: AssignConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [Param(name="variables", type="object")]

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: AssignConfig) -> NodeResult:
        variables = ctx.variables
        written: dict[str, Any] = {}
        for name, value in inputs.items():
            if name not in variables:
                raise NodeError(ctx.node_id, f"no variable {name!r} is declared by the workflow")
            op = config.ops.get(name, "set")
            try:
                variables[name] = written[name] = _apply(variables[name], op, value)
            except TypeError as exc:
                raise NodeError(ctx.node_id, f"variable {name!r}: {exc}") from None
        return NodeResult(outputs={"variables": written})


def _apply(current: Any, op: Op, value: Any) -> Any:
    if op == "set":
        return value
    if op == "clear":
        return [] if isinstance(current, list) else None
    if op in ("append", "extend"):
        if not isinstance(current, list):
            raise TypeError(f"{op} needs a list variable, it holds {describe(current)}")
        if op == "append":
            return [*current, value]
        if not isinstance(value, list):
            raise TypeError(f"extend needs a list value, got {describe(value)}")
        return [*current, *value]
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (current, value))
    if not numbers:
        raise TypeError(f"add needs numbers, got {describe(current)} and {describe(value)}")
    return current + value
