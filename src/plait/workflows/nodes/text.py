"""text processing: concat (a template over the inputs), split, replace (plain or regex), regex extract, and
case and whitespace changes, on the ``text`` input."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from plait.workflows.dsl import Body, Param
from plait.workflows.nodes._template import render_text, template_problems
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register
from plait.workflows.types import describe

MAX_TEXT = 1_000_000  # characters a regex may run over: Python's re has no time limit

Op = Literal["concat", "split", "replace", "regex_extract", "upper", "lower", "trim"]


class TextConfig(NodeConfig):
    op: Op
    template: str = Field(default="", description="concat: a Jinja template over the inputs")
    separators: list[str] = Field(default_factory=lambda: ["\n"], description="split: any of these")
    pattern: str = Field(default="", description="replace: the text (or regex) to find; regex_extract: the regex")
    replacement: str = ""
    regex: bool = Field(default=False, description="replace: pattern is a regex")
    all: bool = Field(default=True, description="regex_extract: every match, not just the first")

    @model_validator(mode="after")
    def _fields(self) -> TextConfig:
        if self.op == "concat" and not self.template:
            raise ValueError("concat needs a template")
        if self.op in ("replace", "regex_extract") and not self.pattern:
            raise ValueError(f"{self.op} needs a pattern")
        if self.op == "split" and (not self.separators or "" in self.separators):
            raise ValueError("split needs non-empty separators")
        if self.regex or self.op == "regex_extract":
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"bad regex {self.pattern!r}: {exc}") from None
        return self


@register
class Text(NodeType[TextConfig]):
    type = "text"
    title = "Text processing"
    Config = TextConfig

    def inputs(self, config: TextConfig) -> Sequence[Param]:
        return [] if config.op == "concat" else [Param(name="text", type="string")]

    def outputs(self, config: TextConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        many = config.op == "split" or (config.op == "regex_extract" and config.all)
        return [Param(name="output", type="array[string]" if many else "string")]

    def check(self, config: TextConfig, node_inputs: Mapping[str, Any], body: Body | None) -> list[tuple[str, str]]:
        return template_problems(config.template, "config.template", node_inputs) if config.op == "concat" else []

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: TextConfig) -> NodeResult:
        if config.op == "concat":
            return NodeResult(outputs={"output": render_text(config.template, inputs)})
        text = inputs.get("text")
        if not isinstance(text, str):
            raise NodeError(ctx.node_id, f"input 'text' must be a string, got {describe(text)}")
        if len(text) > MAX_TEXT:
            raise NodeError(ctx.node_id, f"input 'text' is longer than {MAX_TEXT} characters")
        return NodeResult(outputs={"output": transform(text, config)})


def transform(text: str, config: TextConfig) -> str | list[str] | None:
    if config.op == "split":
        return [part for part in re.split("|".join(map(re.escape, config.separators)), text) if part]
    if config.op == "replace":
        if config.regex:
            return re.sub(config.pattern, config.replacement, text)
        return text.replace(config.pattern, config.replacement)
    if config.op == "regex_extract":
        matches = [m.group(1) if m.groups() else m.group(0) for m in re.finditer(config.pattern, text)]
        return matches if config.all else (matches[0] if matches else None)
    return {"upper": text.upper, "lower": text.lower, "trim": text.strip}[config.op]()
