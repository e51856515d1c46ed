"""JSON Schema checks for node configs and values (llm structured output, JSON parse)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]


def check_schema(schema: dict[str, Any]) -> None:
    """Raise ``ValueError`` (which pydantic reports on the field) when ``schema`` is not a JSON Schema."""
    try:
        Draft202012Validator.check_schema(schema)
    except Exception as exc:
        raise ValueError(f"not a valid JSON Schema: {getattr(exc, 'message', exc)}") from None


def schema_problem(schema: dict[str, Any], value: Any) -> str | None:
    """What is wrong with ``value`` for ``schema``, with where, or None when it matches."""
    error = best_match(Draft202012Validator(schema).iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "the top level"
    return f"at {where}: {error.message}"
