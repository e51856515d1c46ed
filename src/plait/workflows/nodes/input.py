"""input: waits for typed input (an interrupt of kind ``input``, Coze's interrupt type 5); the fields given on
resume, checked against their declared types, are the node's outputs.

The answer is a JSON object of the fields (or its text). Values are loosened where the meaning is clear
(``"3"`` for an integer); a missing required field, a wrong type or a field that is not declared makes the node
ask again with the problems in ``errors``, up to ``attempts`` answers, then fail.

The interrupt's data is Coze's form: ``{"content_type": "form_schema", "content": "<the fields as JSON>"}``,
with ``prompt`` and, on a second ask, ``errors``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field, model_validator

from plait.workflows.dsl import Body, Param
from plait.workflows.nodes._template import render_text, template_problems
from plait.workflows.nodes._typed_fields import checked_fields
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register

KIND = "input"


class InputConfig(NodeConfig):
    fields: list[Param] = Field(min_length=1, max_length=50)
    prompt: str = Field(default="", description="what to tell the user, a template over the node's inputs")
    attempts: int = Field(default=3, ge=1, le=10, description="answers asked for before the node fails")

    @model_validator(mode="after")
    def _unique(self) -> InputConfig:
        names = [field.name for field in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("field names must be unique")
        return self


@register
class InputNode(NodeType[InputConfig]):
    type = "input"
    title = "Input"
    Config = InputConfig
    interrupts = True

    def outputs(self, config: InputConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return list(config.fields)

    def check(self, config: InputConfig, node_inputs: Mapping[str, Any], body: Body | None) -> list[tuple[str, str]]:
        return template_problems(config.prompt, "config.prompt", node_inputs)

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: InputConfig) -> NodeResult:
        form = [field.model_dump(exclude_defaults=True) | {"type": field.type} for field in config.fields]
        data: dict[str, Any] = {"content_type": "form_schema", "content": json.dumps(form, ensure_ascii=False)}
        if config.prompt:
            data["prompt"] = render_text(config.prompt, inputs)
        problems: list[str] = []
        for _ in range(config.attempts):
            answer = ctx.interrupt(KIND, data | {"errors": problems} if problems else data)
            values, problems = _read(answer, config.fields)
            if not problems:
                return NodeResult(outputs=values)
        raise NodeError(ctx.node_id, f"the input is not valid after {config.attempts} answers: {'; '.join(problems)}")


def _read(answer: Any, fields: Sequence[Param]) -> tuple[dict[str, Any], list[str]]:
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except json.JSONDecodeError:
            return {}, ["the answer should be a JSON object of the fields"]
    if not isinstance(answer, Mapping):
        return {}, ["the answer should be a JSON object of the fields"]
    values, problems = checked_fields(answer, fields)
    declared = {field.name for field in fields}
    problems += [f"{name!r} is not a field of this form" for name in answer if name not in declared]
    return values, problems
