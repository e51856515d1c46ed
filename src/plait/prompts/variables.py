"""The variables of a template: declared by a JSON Schema or inferred from the templates, checked before rendering.

Checking up front, against a schema, is what turns a typo in a variable name or a number where a string was
meant into an error naming the variable, instead of a prompt that silently says something else.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError, ValidationError, best_match  # type: ignore[import-untyped]

from plait.prompts.errors import PromptError, PromptVariableError

_HISTORY_PROPERTY = {"type": "array", "description": "messages spliced into the conversation"}


class Variables:
    """The effective schema of one template and the check of a call's variables against it.

    ``used`` maps each name the templates read to where it is first read; ``histories`` maps each messages
    placeholder to whether it is optional. Without ``declared``, every used name is a required variable of
    any type.
    """

    def __init__(
        self,
        declared: Mapping[str, Any] | None,
        used: Mapping[str, str],
        histories: Mapping[str, bool],
        *,
        strict: bool,
        label: str,
    ) -> None:
        self.strict = strict
        self.label = label
        if declared is None:
            self.schema: dict[str, Any] = {"type": "object", "properties": {n: {} for n in used}, "required": [*used]}
        else:
            self.schema = self._declared(declared)
        self.properties: dict[str, Any] = self.schema.setdefault("properties", {})
        self.required: list[str] = self.schema.setdefault("required", [])
        for name, optional in histories.items():
            self.properties.setdefault(name, dict(_HISTORY_PROPERTY))
            if not optional and name not in self.required:
                self.required.append(name)
        for name, where in used.items():
            if name not in self.properties:
                raise PromptError(f"{label}{where} uses {name!r}, which the variables schema does not declare")
        for name in self.required:
            if name not in self.properties:
                raise PromptError(f"{label}the variables schema requires {name!r} but has no property for it")
        self._validator = Draft202012Validator(self.schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def _declared(self, declared: Mapping[str, Any]) -> dict[str, Any]:
        """A full schema (``"type": "object"``) as given, or one built from a mapping of name to property."""
        if not isinstance(declared, Mapping):
            raise PromptError(f"{self.label}variables must be a JSON Schema object, got {type(declared).__name__}")
        if declared.get("type") == "object":
            schema = copy.deepcopy(dict(declared))
        else:
            for name, prop in declared.items():
                if not isinstance(prop, Mapping):
                    raise PromptError(
                        f'{self.label}variables is neither a JSON Schema with "type": "object" nor a mapping of '
                        f"names to property schemas: {name!r} maps to a {type(prop).__name__}"
                    )
            properties = copy.deepcopy(dict(declared))
            required = [name for name, prop in properties.items() if "default" not in prop]
            schema = {"type": "object", "properties": properties, "required": required}
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            where = exc.json_path.removeprefix("$").removeprefix(".") or "the root"
            raise PromptError(f"{self.label}invalid variables schema at {where}: {exc.message}") from exc
        return schema

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.properties)

    def check(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values to render with: unknown names refused (or dropped if not strict), defaults filled in,
        then everything validated against the schema."""
        if not isinstance(values, Mapping):
            raise PromptError(
                f"{self.label}variables must be a mapping of names to values, got {type(values).__name__}"
            )
        unknown = [name for name in values if name not in self.properties]
        if unknown and self.strict:
            takes = ", ".join(self.properties) or "no variables"
            problem = f"not declared by this template (it takes {takes}); pass strict=False to ignore extras"
            raise PromptVariableError(unknown, problem, label=self.label)
        merged = {name: value for name, value in values.items() if name in self.properties}
        for name, prop in self.properties.items():
            if name not in merged and isinstance(prop, Mapping) and "default" in prop:
                merged[name] = copy.deepcopy(prop["default"])
        missing = [name for name in self.required if name not in merged]
        if missing:
            raise PromptVariableError(missing, "required but not given", label=self.label)
        error = best_match(self._validator.iter_errors(merged))
        if error is not None:
            raise PromptVariableError(_path(error), error.message, label=self.label)
        return merged


def _path(error: ValidationError) -> str:
    """The failing value as ``user.tags[2]``; for a missing property, the path of that property."""
    path: str = error.json_path.removeprefix("$").removeprefix(".")
    if error.validator == "required" and isinstance(error.instance, Mapping):
        names: Sequence[str] = error.validator_value
        missing = next((name for name in names if name not in error.instance), "")
        path = f"{path}.{missing}" if path else missing
    return path or "$"
