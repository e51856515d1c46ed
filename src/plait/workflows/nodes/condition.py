"""condition: if / elif / else. Each case is a group of typed comparisons joined by AND or OR; the first case
that holds chooses its branch (the case's id), else the ``else`` branch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from plait.workflows.dsl import Body, Param
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register
from plait.workflows.types import describe

Operator = Literal[
    "==", "!=", "<", "<=", ">", ">=", "contains", "not_contains", "starts_with", "ends_with", "empty", "not_empty",
    "in", "not_in",
]  # fmt: skip
_UNARY = ("empty", "not_empty")
ELSE = "else"


class Comparison(NodeConfig):
    left: str = Field(description="the name of a node input")
    op: Operator
    right: Any = Field(default=None, description="a constant to compare with")
    right_input: str | None = Field(default=None, description="or the name of a node input to compare with")


class Case(NodeConfig):
    id: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", description="the branch name")
    logic: Literal["and", "or"] = "and"
    conditions: list[Comparison] = Field(min_length=1)


class ConditionConfig(NodeConfig):
    cases: list[Case] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ConditionConfig:
        names = case_ids(self)
        if len(set(names)) != len(names) or ELSE in names:
            raise ValueError(f"case ids must be unique and not 'else': {names}")
        return self


def case_ids(config: ConditionConfig) -> list[str]:
    return [case.id or ("if" if i == 0 else f"elif_{i}") for i, case in enumerate(config.cases)]


@register
class Condition(NodeType[ConditionConfig]):
    type = "condition"
    title = "Condition"
    Config = ConditionConfig

    def outputs(self, config: ConditionConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [Param(name="branch", type="string")]

    def branches(self, config: ConditionConfig) -> Sequence[str] | None:
        return [*case_ids(config), ELSE]

    def check(
        self, config: ConditionConfig, node_inputs: Mapping[str, Any], body: Body | None
    ) -> list[tuple[str, str]]:
        return [
            (f"config.cases[{i}].conditions[{j}]", f"{name!r} is not an input of the node")
            for i, case in enumerate(config.cases)
            for j, item in enumerate(case.conditions)
            for name in (item.left, item.right_input)
            if name is not None and name not in node_inputs
        ]

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: ConditionConfig) -> NodeResult:
        for case_id, case in zip(case_ids(config), config.cases, strict=True):
            results = (_holds(ctx.node_id, item, inputs) for item in case.conditions)
            if all(results) if case.logic == "and" else any(results):
                return NodeResult(outputs={"branch": case_id}, branch=case_id)
        return NodeResult(outputs={"branch": ELSE}, branch=ELSE)


def _holds(node_id: str, item: Comparison, inputs: Mapping[str, Any]) -> bool:
    left = inputs.get(item.left)
    right = inputs.get(item.right_input) if item.right_input is not None else item.right
    try:
        return compare(left, item.op, right)
    except TypeError as exc:
        raise NodeError(node_id, f"{item.left} {item.op} {right!r}: {exc}") from None


def compare(left: Any, op: str, right: Any) -> bool:
    """One typed comparison; comparing values of types that do not compare is a TypeError, not False."""
    if op == "empty":
        return left is None or left == "" or (isinstance(left, list | dict | tuple) and not left)
    if op == "not_empty":
        return not compare(left, "empty", None)
    if op in ("==", "!="):
        same = _numeric(left, right) or type(left) is type(right) or left is None or right is None
        if not same:
            raise TypeError(f"cannot compare {describe(left)} with {describe(right)}")
        return bool(left == right) == (op == "==")
    if op in ("<", "<=", ">", ">="):
        if not (_numeric(left, right) or (isinstance(left, str) and isinstance(right, str))):
            raise TypeError(f"{op} needs two numbers or two strings, got {describe(left)} and {describe(right)}")
        return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op])
    if op in ("contains", "not_contains"):
        if isinstance(left, str):
            if not isinstance(right, str):
                raise TypeError(f"a string contains strings, not {describe(right)}")
            found = right in left
        elif isinstance(left, list | tuple | dict):
            found = right in left
        elif left is None:
            found = False
        else:
            raise TypeError(f"{describe(left)} cannot contain anything")
        return found == (op == "contains")
    if op in ("starts_with", "ends_with"):
        if not (isinstance(left, str) and isinstance(right, str)):
            raise TypeError(f"{op} needs two strings, got {describe(left)} and {describe(right)}")
        return left.startswith(right) if op == "starts_with" else left.endswith(right)
    if op in ("in", "not_in"):
        if not isinstance(right, list | tuple | str | dict):
            raise TypeError(f"{op} needs a list, string or object on the right, got {describe(right)}")
        if isinstance(right, str) and not isinstance(left, str):
            raise TypeError(f"only a string can be in a string, not {describe(left)}")
        return (left in right) == (op == "in")
    raise TypeError(f"unknown operator {op!r}")


def _numeric(left: Any, right: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
