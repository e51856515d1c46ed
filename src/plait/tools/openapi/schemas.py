"""JSON Schemas of an OpenAPI document made self-contained for a model: local ``$ref``s inlined, OpenAPI 3.0's
dialect (``nullable``, boolean ``exclusiveMaximum``) turned into JSON Schema's.

Only references into the same document (``#/...``) are followed: fetching others would let a document make
the server read files or URLs. A chain of references that comes back to itself is an error; a schema that
contains itself (a tree's children) is cut at the second level with a note, since a tool schema must be finite.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

MAX_SCHEMA_NODES = 20_000  # one tool's inlined schema; references used many times can multiply it
_DIALECT_30 = ("nullable", "exclusiveMaximum", "exclusiveMinimum")


class Problem(ValueError):
    """Something wrong at one place of the document (a reference that cannot be followed...): the message says
    what, the code that catches it knows the place and adds it."""


class Resolver:
    """Follows references within one document, for one OpenAPI version."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.openapi_30 = str(document.get("openapi", "")).startswith("3.0")

    def deref(self, node: Any) -> Any:
        """``node`` itself, or what its chain of ``$ref``s points to."""
        seen: list[str] = []
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                raise Problem(f"reference cycle: {' -> '.join([*seen, ref])}")
            seen.append(ref)
            node = self.target(ref)
        return node

    def target(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise Problem(f"{ref!r} points outside this document; only local references ('#/...') are followed")
        node: Any = self.document
        for raw in ref[1:].split("/")[1:] if ref != "#" else []:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise Problem(f"{ref!r} points to nothing in this document")
        return node

    def schema(self, node: Any) -> dict[str, Any]:
        """``node`` as a self-contained JSON Schema, or Problem."""
        budget = [MAX_SCHEMA_NODES]
        result = self._inline(node, (), budget)
        if budget[0] < 0:
            raise Problem(f"the schema expands to over {MAX_SCHEMA_NODES:,} values once references are inlined")
        return result if isinstance(result, dict) else {}

    def _inline(self, node: Any, stack: tuple[str, ...], budget: list[int]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            return {}
        if isinstance(node, list):
            return [self._inline(item, stack, budget) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in stack:
                return {"description": f"(recursive: another {ref.rsplit('/', 1)[-1]}, not expanded)"}
            target = self._inline(self.deref({"$ref": ref}), (*stack, ref), budget)
            siblings = {k: self._inline(v, stack, budget) for k, v in node.items() if k != "$ref"}  # 3.1 allows them
            return {**target, **siblings} if isinstance(target, dict) else target
        out = {key: self._inline(value, stack, budget) for key, value in node.items()}
        return self._to_json_schema(out) if self.openapi_30 else out

    @staticmethod
    def _to_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
        """OpenAPI 3.0's keywords in JSON Schema's spelling (3.1 already is JSON Schema)."""
        if not any(key in schema for key in _DIALECT_30):
            return schema
        schema = dict(schema)
        if schema.pop("nullable", False) is True and "type" in schema:
            kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            schema["type"] = [*kinds, "null"]
        for bound, limit in (("exclusiveMaximum", "maximum"), ("exclusiveMinimum", "minimum")):
            if isinstance(schema.get(bound), bool) and schema.pop(bound) and limit in schema:
                schema[bound] = schema.pop(limit)
        return schema
