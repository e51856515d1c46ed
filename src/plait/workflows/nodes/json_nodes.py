"""JSON serialize (a value to text) and JSON parse (text to a value, optionally checked against a schema)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import Field, field_validator

from plait.workflows.dsl import Param
from plait.workflows.nodes._json_schema import check_schema, schema_problem
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register
from plait.workflows.types import describe


class SerializeConfig(NodeConfig):
    indent: int | None = Field(default=None, ge=0, le=8)
    sort_keys: bool = False


class ParseConfig(NodeConfig):
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")

    @field_validator("schema_")
    @classmethod
    def _valid(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None:
            check_schema(schema)
        return schema


@register
class JsonSerialize(NodeType[SerializeConfig]):
    type = "json_serialize"
    title = "JSON serialize"
    Config = SerializeConfig

    def inputs(self, config: SerializeConfig) -> Sequence[Param]:
        return [Param(name="value", type="any")]

    def outputs(self, config: SerializeConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [Param(name="text", type="string")]

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: SerializeConfig) -> NodeResult:
        try:
            text = json.dumps(inputs.get("value"), ensure_ascii=False, indent=config.indent, sort_keys=config.sort_keys)
        except (TypeError, ValueError) as exc:
            raise NodeError(ctx.node_id, f"the value is not JSON-serializable: {exc}") from None
        return NodeResult(outputs={"text": text})


@register
class JsonParse(NodeType[ParseConfig]):
    type = "json_parse"
    title = "JSON parse"
    Config = ParseConfig

    def inputs(self, config: ParseConfig) -> Sequence[Param]:
        return [Param(name="text", type="string")]

    def outputs(self, config: ParseConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [Param(name="value", type="any")]

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: ParseConfig) -> NodeResult:
        text = inputs.get("text")
        if not isinstance(text, str):
            raise NodeError(ctx.node_id, f"input 'text' must be a string, got {describe(text)}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise NodeError(ctx.node_id, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        if config.schema_ is not None:
            problem = schema_problem(config.schema_, value)
            if problem is not None:
                raise NodeError(ctx.node_id, f"the JSON does not match the schema {problem}")
        return NodeResult(outputs={"value": value})
