"""intent classifier: the model reads the ``query`` input and picks one of the configured intents by its
description; each intent is a branch (its name is the source handle), and ``other`` is taken when none fits.

As in Coze, intents are numbered from 1 and 0 is "other"; the model answers ``{"classificationId": n,
"reason": "..."}`` (a bare number is accepted too). An answer that names no intent goes to ``other``; a reply
with no number at all fails the node, so a broken model is seen rather than routed silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field, model_validator

from plait.schema import Message
from plait.workflows.dsl import Body, Param
from plait.workflows.nodes._model_reply import ask_model, json_object
from plait.workflows.nodes._template import render_text, template_problems
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register

OTHER = "other"
_NUMBER = re.compile(r"^\s*(-?\d+)\s*$")

PROMPT = """You classify the user's input into one of these intents:
{intents}

Judge only by how well the input matches an intent's description. When none matches, choose 0.
{instruction}
Answer with JSON only, no other text: {{"classificationId": <number>, "reason": "<a short reason>"}}"""


class Intent(NodeConfig):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$", description="the branch's source handle")
    description: str = Field(min_length=1, description="what the user wants when this intent applies")


class IntentConfig(NodeConfig):
    model: str = Field(min_length=1)
    intents: list[Intent] = Field(min_length=1, max_length=50)
    instruction: str = Field(default="", description="extra guidance for the model, a template over the inputs")

    @model_validator(mode="after")
    def _names(self) -> IntentConfig:
        names = [intent.name for intent in self.intents]
        if OTHER in names:
            raise ValueError(f"{OTHER!r} is the branch taken when no intent matches; name the intent differently")
        if len(set(names)) != len(names):
            raise ValueError("intent names must be unique")
        return self


@register
class IntentClassifier(NodeType[IntentConfig]):
    type = "intent_classifier"
    title = "Intent classifier"
    Config = IntentConfig

    def inputs(self, config: IntentConfig) -> Sequence[Param]:
        return [Param(name="query", type="string")]

    def outputs(self, config: IntentConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [
            Param(name="intent", type="string"),
            Param(name="classification_id", type="integer"),
            Param(name="reason", type="string"),
        ]

    def branches(self, config: IntentConfig) -> Sequence[str] | None:
        return [*(intent.name for intent in config.intents), OTHER]

    def check(self, config: IntentConfig, node_inputs: Mapping[str, Any], body: Body | None) -> list[tuple[str, str]]:
        return template_problems(config.instruction, "config.instruction", node_inputs)

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: IntentConfig) -> NodeResult:
        query = inputs.get("query")
        if not isinstance(query, str) or not query.strip():
            raise NodeError(ctx.node_id, "input 'query' is empty: there is nothing to classify")
        listed = [{"classificationId": 0, "content": "none of the intents below"}]
        listed += [{"classificationId": i, "content": it.description} for i, it in enumerate(config.intents, 1)]
        instruction = render_text(config.instruction, inputs) if config.instruction else ""
        system = PROMPT.format(intents=json.dumps(listed, ensure_ascii=False), instruction=instruction)
        reply = await ask_model(ctx, config.model, [Message.system(system), Message.user(query)], "intent classifier")
        number, reason = _classification(ctx.node_id, reply)
        if 1 <= number <= len(config.intents):
            name = config.intents[number - 1].name
        else:
            number, name = 0, OTHER
        outputs = {"intent": name, "classification_id": number, "reason": reason}
        return NodeResult(outputs=outputs, branch=name)


def _classification(node_id: str, reply: str) -> tuple[int, str]:
    bare = _NUMBER.match(reply)
    if bare:
        return int(bare[1]), ""
    found = json_object(reply)
    value = found.get("classificationId", found.get("classification_id")) if found else None
    if isinstance(value, str) and _NUMBER.match(value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise NodeError(node_id, f"the model did not answer with a classification: {reply[:200]!r}")
    reason = found.get("reason", "") if found else ""
    return value, reason if isinstance(reason, str) else json.dumps(reason)
