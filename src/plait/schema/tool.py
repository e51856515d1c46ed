"""Tool specifications: what a model is told about a tool it may call."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_OTHER_SECTION = re.compile(r"^\s*(Returns|Return|Raises|Yields|Examples?|Notes?):\s*$")
_ARG_LINE = re.compile(r"^\s+(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


@dataclass(slots=True, kw_only=True)
class ToolSpec:
    """A tool as a model sees it: a name, what it is for, and a JSON Schema of its arguments."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    @classmethod
    def from_function(cls, fn: Callable[..., Any], *, name: str | None = None) -> ToolSpec:
        """Build a spec from a typed function: its name, docstring summary and annotated parameters.

        Parameter descriptions come from a Google-style ``Args:`` section. pydantic is imported here, not at
        module load, so the kernel stays light.
        """
        from pydantic import TypeAdapter

        doc = inspect.getdoc(fn) or ""
        summary, arg_docs = _parse_docstring(doc)
        # pydantic builds a function's arguments schema from its signature, as it does for validate_call.
        schema = TypeAdapter(fn).json_schema()  # type: ignore[arg-type]
        parameters: dict[str, Any] = {
            "type": "object",
            "properties": schema.get("properties", {}),
            "required": schema.get("required", []),
        }
        for key in ("$defs", "additionalProperties"):
            if key in schema:
                parameters[key] = schema[key]
        for arg, text in arg_docs.items():
            prop = parameters["properties"].get(arg)
            if prop is not None:
                prop.pop("title", None)
                prop.setdefault("description", text)
        for prop in parameters["properties"].values():
            prop.pop("title", None)
        return cls(name=name or fn.__name__, description=summary, parameters=parameters)


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a docstring into its prose and its ``Args:`` entries."""
    lines = doc.splitlines()
    summary: list[str] = []
    args: dict[str, str] = {}
    current: str | None = None
    in_args = False
    for line in lines:
        if _OTHER_SECTION.match(line):
            break
        if _ARGS_HEADER.match(line):
            in_args = True
            continue
        if in_args:
            match = _ARG_LINE.match(line)
            if match:
                current = match.group(1).lstrip("*")
                args[current] = match.group(2).strip()
            elif line.strip() and line.startswith((" ", "\t")) and current:
                args[current] += " " + line.strip()
            elif line.strip():
                in_args = False
                current = None
                summary.append(line)
            continue
        summary.append(line)
    return "\n".join(summary).strip(), args
