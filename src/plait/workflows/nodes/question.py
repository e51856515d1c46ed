"""question: asks the user and waits (an interrupt of kind ``question``, Coze's interrupt type 2); the answer
given on resume becomes the node's output.

With ``answer_type: text`` the answer is the output ``answer``. With ``options`` the user picks one: by its text,
or by its letter (A, B, ...; Coze's option ids). An answer that is neither goes to ``other`` when
``allow_other``, else the question is asked again, up to ``max_answers`` answers. Fixed options are branches
``option_0``, ``option_1``... beside ``other``; an ``options`` input gives options at run time instead.

The interrupt's data is Coze's: ``{"messages": [{"type": "question", "content_type": "text" | "option",
"content": ..., "id": ...}]}``, with the earlier questions and answers first when the question is asked again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from plait.workflows.dsl import Body, Param
from plait.workflows.nodes._template import render_text, template_problems
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register

KIND = "question"
OTHER = "other"
MAX_OPTIONS = 26  # option ids are letters


class QuestionConfig(NodeConfig):
    question: str = Field(min_length=1, description="a template over the node's inputs")
    answer_type: Literal["text", "options"] = "text"
    options: list[str] = Field(default_factory=list, max_length=MAX_OPTIONS, description="templates; or input")
    allow_other: bool = Field(default=True, description="an answer matching no option goes to 'other'")
    max_answers: int = Field(default=3, ge=1, le=10, description="answers asked for before the node fails")

    @model_validator(mode="after")
    def _options(self) -> QuestionConfig:
        if self.options and self.answer_type != "options":
            raise ValueError("options need answer_type 'options'")
        return self


@register
class Question(NodeType[QuestionConfig]):
    type = "question"
    title = "Question"
    Config = QuestionConfig
    interrupts = True

    def outputs(self, config: QuestionConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        answer = Param(name="answer", type="string")
        if config.answer_type == "text":
            return [answer]
        return [answer, Param(name="option_id", type="string"), Param(name="option_content", type="string")]

    def branches(self, config: QuestionConfig) -> Sequence[str] | None:
        if not config.options:
            return None
        return [*(f"option_{index}" for index in range(len(config.options))), OTHER]

    def check(self, config: QuestionConfig, node_inputs: Mapping[str, Any], body: Body | None) -> list[tuple[str, str]]:
        problems = template_problems(config.question, "config.question", node_inputs)
        for index, option in enumerate(config.options):
            problems += template_problems(option, f"config.options.{index}", node_inputs)
        if config.answer_type == "options" and not config.options and "options" not in node_inputs:
            problems.append(("config.options", "answer_type 'options' needs options, or an 'options' input"))
        return problems

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: QuestionConfig) -> NodeResult:
        question = render_text(config.question, inputs)
        options = _options(ctx.node_id, inputs, config) if config.answer_type == "options" else []
        history: list[dict[str, Any]] = []
        for _ in range(config.max_answers):
            asked = _message(ctx.node_id, len(history), question, options)
            answer = _text(ctx.interrupt(KIND, {"messages": [*history, asked]}))
            if config.answer_type == "text":
                return NodeResult(outputs={"answer": answer})
            index = _pick(answer, options)
            if index is not None:
                branch = f"option_{index}" if config.options else None
                outputs = {"answer": answer, "option_id": chr(ord("A") + index), "option_content": options[index]}
                return NodeResult(outputs=outputs, branch=branch)
            if config.allow_other:
                outputs = {"answer": answer, "option_id": OTHER, "option_content": answer}
                return NodeResult(outputs=outputs, branch=OTHER if config.options else None)
            reply = {
                "type": "answer",
                "content_type": "text",
                "content": answer,
                "id": f"{ctx.node_id}_{len(history) + 1}",
            }
            history += [asked, reply]
        raise NodeError(ctx.node_id, f"no answer matched an option in {config.max_answers} answers")


def _options(node_id: str, inputs: Mapping[str, Any], config: QuestionConfig) -> list[str]:
    if config.options:
        return [render_text(option, inputs) for option in config.options]
    given = inputs.get("options")
    if not isinstance(given, list) or not given:
        raise NodeError(node_id, "input 'options' should be a non-empty list of the options to offer")
    return [_text(option) for option in given[:MAX_OPTIONS]]


def _message(node_id: str, number: int, question: str, options: Sequence[str]) -> dict[str, Any]:
    """A question as Coze's question node shows it."""
    if not options:
        return {"type": "question", "content_type": "text", "content": question, "id": f"{node_id}_{number}"}
    content = {"question": question, "options": [{"name": option} for option in options]}
    return {"type": "question", "content_type": "option", "content": content, "id": f"{node_id}_{number}"}


def _pick(answer: str, options: Sequence[str]) -> int | None:
    """The option an answer names, by its text or its letter."""
    wanted = answer.strip().casefold()
    for index, option in enumerate(options):
        if option.strip().casefold() == wanted:
            return index
    if len(wanted) == 1 and "a" <= wanted <= "z" and ord(wanted) - ord("a") < len(options):
        return ord(wanted) - ord("a")
    return None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("answer"), str):
        return str(value["answer"])
    return "" if value is None else str(value)
