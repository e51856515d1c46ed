"""Jinja templates in node configs (answers, prompts, text): compiled once per text, rendered in the prompt
sandbox, with the variables they read checked against the node's inputs at validation."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from jinja2 import Template

from plait.prompts import PromptError
from plait.prompts.sandbox import compile_text, render


@functools.lru_cache(maxsize=512)
def compiled(text: str) -> tuple[Template, frozenset[str]]:
    return compile_text(text, "template")


def render_text(text: str, values: Mapping[str, Any]) -> str:
    return render(compiled(text)[0], values, "template")


def template_problems(text: str, where: str, inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A syntax error, or variables the template reads that are not inputs of the node."""
    try:
        _, names = compiled(text)
    except PromptError as exc:
        return [(where, str(exc))]
    missing = sorted(names - set(inputs))
    return [(where, f"template reads {name!r}, which is not an input of the node") for name in missing]
