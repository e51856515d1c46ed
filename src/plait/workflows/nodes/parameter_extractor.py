"""parameter extractor: the model reads the ``text`` input and returns the declared parameters as a JSON object;
each is checked against its declared type and becomes an output of its own.

A reply that is not JSON, misses a required parameter or gives one of the wrong type is sent back to the model
with what was wrong, up to ``attempts`` replies in all; after that the node fails (its error policy can give
defaults instead). A parameter the text does not mention and that is not required comes out as its default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field, model_validator

from plait.schema import Message
from plait.workflows.dsl import Body, Param
from plait.workflows.nodes._model_reply import ask_model, json_object
from plait.workflows.nodes._template import render_text, template_problems
from plait.workflows.nodes._typed_fields import checked_fields
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register

PROMPT = """Extract these parameters from the user's text:
{parameters}
{instruction}
Answer with one JSON object only, keyed by parameter name. Leave out a parameter the text does not give."""


class ExtractorConfig(NodeConfig):
    model: str = Field(min_length=1)
    parameters: list[Param] = Field(min_length=1, max_length=50)
    instruction: str = Field(default="", description="extra guidance for the model, a template over the inputs")
    attempts: int = Field(default=2, ge=1, le=5, description="model replies in all, the first included")

    @model_validator(mode="after")
    def _unique(self) -> ExtractorConfig:
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError("parameter names must be unique")
        return self


@register
class ParameterExtractor(NodeType[ExtractorConfig]):
    type = "parameter_extractor"
    title = "Parameter extractor"
    Config = ExtractorConfig

    def inputs(self, config: ExtractorConfig) -> Sequence[Param]:
        return [Param(name="text", type="string")]

    def outputs(self, config: ExtractorConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [*(Param(name=p.name, type=p.type, required=p.required) for p in config.parameters)]

    def check(
        self, config: ExtractorConfig, node_inputs: Mapping[str, Any], body: Body | None
    ) -> list[tuple[str, str]]:
        return template_problems(config.instruction, "config.instruction", node_inputs)

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: ExtractorConfig) -> NodeResult:
        text = inputs.get("text")
        if not isinstance(text, str) or not text.strip():
            raise NodeError(ctx.node_id, "input 'text' is empty: there is nothing to extract from")
        described = [
            {"name": p.name, "type": p.type, "required": p.required, "description": p.description}
            for p in config.parameters
        ]
        instruction = render_text(config.instruction, inputs) if config.instruction else ""
        system = PROMPT.format(parameters=json.dumps(described, ensure_ascii=False), instruction=instruction)
        messages = [Message.system(system), Message.user(text)]
        values: dict[str, Any] = {}
        problems: list[str] = []
        for _ in range(config.attempts):
            reply = await ask_model(ctx, config.model, messages, "a parameter extractor")
            found = json_object(reply)
            if found is None:
                values, problems = {}, ["the answer holds no JSON object"]
            else:
                values, problems = checked_fields(found, config.parameters)
            if not problems:
                return NodeResult(outputs=values)
            messages += [Message.assistant(reply), Message.user(_retry(problems))]
        raise NodeError(ctx.node_id, f"the model's parameters are not valid: {'; '.join(problems)}")


def _retry(problems: Sequence[str]) -> str:
    return "That answer is not valid: " + "; ".join(problems) + ". Answer again with the corrected JSON object only."
