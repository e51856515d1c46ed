"""Typed fields given by a model or a person (parameter extractor, input node): values checked against their
declared DSL types, loosened where the intent is clear (``"3"`` for an integer), and every problem at once so
whoever gave them can fix them in one go."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plait.workflows.dsl import Param
from plait.workflows.types import describe, element_type, matches


def checked_fields(found: Mapping[str, Any], parameters: Sequence[Param]) -> tuple[dict[str, Any], list[str]]:
    """The values by name, coerced where the type allows, defaults for those left out, and what is wrong."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for param in parameters:
        value = coerce(found.get(param.name), param.type)
        if value is None:
            if param.required:
                problems.append(f"{param.name!r} ({param.type}) is required")
            values[param.name] = param.default
        elif not matches(value, param.type):
            problems.append(f"{param.name!r} should be {param.type}, got {describe(value)}")
        else:
            values[param.name] = value
    return values, problems


def coerce(value: Any, type_name: str) -> Any:
    """Loosen what models and forms give: ``"3"`` for an integer, ``2.0`` for 2, ``"true"``, a number as text."""
    if isinstance(value, str) and type_name in ("integer", "number", "boolean"):
        text = value.strip()
        if type_name == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        try:
            number = float(text) if type_name == "number" else int(text)
        except ValueError:
            return value
        return number
    if type_name == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if type_name == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    item = element_type(type_name)
    if item is not None and isinstance(value, list):
        return [coerce(v, item) for v in value]
    return value
