"""The DSL's value types (string, integer, number, boolean, object, file, any, array[...]): checking a value,
telling whether an output can feed an input, and reading a typed value from text (``--input k=v``)."""

from __future__ import annotations

import json
from typing import Any

_CHECKS: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "file": lambda v: isinstance(v, str | dict),  # a URL / file id, or a file object
    "any": lambda v: True,
}


def element_type(type_name: str) -> str | None:
    """``array[string]`` -> ``string``; ``array`` -> ``any``; not an array -> None."""
    if type_name == "array":
        return "any"
    if type_name.startswith("array[") and type_name.endswith("]"):
        return type_name[6:-1]
    return None


def matches(value: Any, type_name: str) -> bool:
    """Whether ``value`` is of the type (None never is, except for ``any``)."""
    item = element_type(type_name)
    if item is None:
        return bool(_CHECKS[type_name](value))
    return isinstance(value, list | tuple) and (item == "any" or all(matches(v, item) for v in value))


def compatible(source: str, target: str) -> bool:
    """Whether an output of type ``source`` can feed an input of type ``target``."""
    if source == target or "any" in (source, target):
        return True
    if (source, target) == ("integer", "number"):
        return True
    src_item, dst_item = element_type(source), element_type(target)
    if src_item is not None and dst_item is not None:
        return compatible(src_item, dst_item)
    return target == "string" and source in ("file",)


def describe(value: Any) -> str:
    """A value's DSL type name, for messages."""
    for name in ("boolean", "integer", "number", "string", "object"):
        if _CHECKS[name](value):
            return name
    if isinstance(value, list | tuple):
        return "array"
    return "null" if value is None else type(value).__name__


def parse_text(text: str, type_name: str) -> Any:
    """Read a value of ``type_name`` from command-line text; strings stay as written."""
    if type_name in ("string", "file"):
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        if type_name == "any":
            return text
        raise ValueError(f"{text!r} is not a valid {type_name}") from None
    if type_name == "number" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not matches(value, type_name):
        raise ValueError(f"{text!r} is not a valid {type_name}")
    return value
