"""llm: a model from the registry answers a prompt rendered from the node's inputs, as text, or as JSON checked
against a schema (each top-level property is then an output of its own)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from plait.schema import Message
from plait.workflows.dsl import Body, Param
from plait.workflows.nodes._json_schema import check_schema, schema_problem
from plait.workflows.nodes._template import render_text, template_problems
from plait.workflows.nodes.base import (
    NodeConfig,
    NodeContext,
    NodeError,
    NodeResult,
    NodeType,
    ServiceMissing,
    register,
)

_FENCE = re.compile(r"^\s*```(?:json)?\s*(?P<body>.*?)\s*```\s*$", re.DOTALL)
_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean", "object": "object"}


class LlmConfig(NodeConfig):
    model: str = Field(min_length=1, description="a model id of the registry, e.g. scripted/echo")
    system: str = ""
    prompt: str = Field(min_length=1, description="the user message, a Jinja template over the node's inputs")
    output: Literal["text", "json"] = "text"
    schema_: dict[str, Any] | None = Field(default=None, alias="schema", description="JSON Schema of a json output")
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _schema(self) -> LlmConfig:
        if self.schema_ is not None:
            if self.output != "json":
                raise ValueError("a schema needs output 'json'")
            check_schema(self.schema_)
        return self


@register
class Llm(NodeType[LlmConfig]):
    type = "llm"
    title = "LLM"
    Config = LlmConfig

    def outputs(self, config: LlmConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        if config.output == "text":
            return [Param(name="text", type="string")]
        fields = [Param(name="output", type="object")]
        properties = (config.schema_ or {}).get("properties", {})
        for name, spec in properties.items():
            type_name = _dsl_type(spec)
            if name != "output" and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
                fields.append(Param(name=name, type=type_name))
        return fields

    def check(self, config: LlmConfig, node_inputs: Mapping[str, Any], body: Body | None) -> list[tuple[str, str]]:
        return template_problems(config.system, "config.system", node_inputs) + template_problems(
            config.prompt, "config.prompt", node_inputs
        )

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: LlmConfig) -> NodeResult:
        models = ctx.services.models
        if models is None:
            raise ServiceMissing(ctx.node_id, "an llm node needs a model registry, and this run has none")
        model = models.get(config.model)
        messages = self._messages(inputs, config)
        options = {k: v for k, v in (("temperature", config.temperature), ("max_tokens", config.max_tokens)) if v}
        if ctx.streaming:
            pieces = []
            async for chunk in model.stream(messages, **options):
                if chunk.text:
                    pieces.append(chunk.text)
                    ctx.emit_chunk(chunk.text)
            text = "".join(pieces)
        else:
            text = (await model.generate(messages, **options)).text
        if config.output == "text":
            return NodeResult(outputs={"text": text})
        value = _parse_json(ctx.node_id, text, config.schema_)
        fields = {k: v for k, v in value.items() if k != "output"} if isinstance(value, dict) else {}
        return NodeResult(outputs={**fields, "output": value})

    def _messages(self, inputs: Mapping[str, Any], config: LlmConfig) -> list[Message]:
        system = render_text(config.system, inputs) if config.system else ""
        if config.output == "json":
            schema = json.dumps(config.schema_) if config.schema_ else "any JSON value"
            system = f"{system}\n\nAnswer with JSON only, matching this schema: {schema}".strip()
        messages = [Message.system(system)] if system else []
        messages.append(Message.user(render_text(config.prompt, inputs)))
        return messages


def _dsl_type(spec: Any) -> str:
    """The DSL type of a JSON Schema property (``any`` where it cannot say)."""
    kind = spec.get("type") if isinstance(spec, Mapping) else None
    if kind == "array":
        items = spec.get("items")
        item = items.get("type") if isinstance(items, Mapping) else None
        return f"array[{_JSON_TYPES.get(str(item), 'any')}]"
    return _JSON_TYPES.get(str(kind), "any")


def _parse_json(node_id: str, text: str, schema: Mapping[str, Any] | None) -> Any:
    fenced = _FENCE.match(text)
    body = fenced.group("body") if fenced else text.strip()
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        raise NodeError(node_id, f"the model's answer is not JSON ({exc.msg}): {text[:200]!r}") from None
    if schema is not None:
        problem = schema_problem(dict(schema), value)
        if problem is not None:
            raise NodeError(node_id, f"the model's JSON does not match the schema {problem}")
    return value
