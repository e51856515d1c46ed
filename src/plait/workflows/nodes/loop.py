"""loop: runs its body over a list (``items``), a number of times (``count``), or until a ``break`` node runs,
never more than ``max_iterations`` times: a list or count over the bound, or no break within it, fails the node
rather than stopping early without saying so.

Each iteration's body reads, from the loop's id, ``index``, ``item`` (over a list) and the loop variables. A
variable starts from the loop's input of the same name (else its ``default``) and after each iteration takes the
value of its ``update`` reference, a body node's output, when that node ran. ``collect`` gathers a body node's
output from every iteration where it ran into a list (a ``continue`` before it leaves that iteration out).
Outputs: the variables' last values, the collected lists and ``iterations``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from plait.workflows.dsl import Body, Param, Reference, VarType
from plait.workflows.nodes._body_outputs import body_value, reference_problems, seen
from plait.workflows.nodes.base import BodyRun, NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register

RESERVED = ("index", "item", "iterations")


class LoopVariable(NodeConfig):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    type: VarType = "any"
    default: Any = None
    update: Reference | None = Field(default=None, description="a body node's output: the value after an iteration")


class LoopConfig(NodeConfig):
    mode: Literal["list", "count", "until_break"] = "list"
    max_iterations: int = Field(default=100, ge=1, le=10_000)
    variables: list[LoopVariable] = Field(default_factory=list)
    collect: dict[str, Reference] = Field(default_factory=dict, description="output name -> a body node's output")

    @model_validator(mode="after")
    def _names(self) -> LoopConfig:
        names = [v.name for v in self.variables] + list(self.collect)
        if len(set(names)) != len(names):
            raise ValueError("loop variables and collected outputs need distinct names")
        if clash := sorted(set(names) & set(RESERVED)):
            raise ValueError(f"{', '.join(clash)} name what the loop gives itself; choose other names")
        return self


@register
class Loop(NodeType[LoopConfig]):
    type = "loop"
    title = "Loop"
    Config = LoopConfig
    container = True

    def inputs(self, config: LoopConfig) -> Sequence[Param]:
        given = [Param(name=v.name, type=v.type, required=False) for v in config.variables]
        if config.mode == "list":
            return [Param(name="items", type="array"), *given]
        if config.mode == "count":
            return [Param(name="count", type="integer"), *given]
        return given

    def outputs(self, config: LoopConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        variables = [Param(name=v.name, type=v.type, required=False) for v in config.variables]
        collected = [Param(name=name, type="array") for name in config.collect]
        return [*variables, *collected, Param(name="iterations", type="integer")]

    def check(self, config: LoopConfig, node_inputs: Mapping[str, Any], body: Body | None) -> list[tuple[str, str]]:
        updates = {v.name: v.update for v in config.variables if v.update is not None}
        return reference_problems(updates, "config.variables", body) + reference_problems(
            config.collect, "config.collect", body
        )

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: LoopConfig) -> NodeResult:
        items = _items(ctx.node_id, inputs, config)
        total = len(items) if items is not None else _count(ctx.node_id, inputs, config)
        values = {v.name: inputs[v.name] if inputs.get(v.name) is not None else v.default for v in config.variables}
        runs: list[BodyRun] = []
        broke = False
        for index in range(total):
            given = {"index": index, **values} | ({"item": items[index]} if items is not None else {})
            run = await ctx.run_body(given, index=index)
            runs.append(run)
            for variable in config.variables:
                if variable.update is not None:
                    values[variable.name] = body_value(run, variable.update, values[variable.name])
            if run.control == "break":
                broke = True
                break
        if config.mode == "until_break" and not broke:
            raise NodeError(ctx.node_id, f"no break node ran within max_iterations ({config.max_iterations})")
        collected = {name: seen(runs, ref) for name, ref in config.collect.items()}
        return NodeResult(outputs={**values, **collected, "iterations": len(runs)})


def _items(node_id: str, inputs: Mapping[str, Any], config: LoopConfig) -> list[Any] | None:
    if config.mode != "list":
        return None
    items = inputs.get("items")
    if not isinstance(items, list):
        raise NodeError(node_id, "input 'items' should be a list")
    if len(items) > config.max_iterations:
        raise NodeError(node_id, f"{len(items)} items is more than max_iterations ({config.max_iterations})")
    return items


def _count(node_id: str, inputs: Mapping[str, Any], config: LoopConfig) -> int:
    if config.mode == "until_break":
        return config.max_iterations
    count = inputs.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise NodeError(node_id, "input 'count' should be an integer >= 0")
    if count > config.max_iterations:
        raise NodeError(node_id, f"count {count} is more than max_iterations ({config.max_iterations})")
    return count
