"""The workflow document: nodes, edges, declared inputs, outputs and variables, as typed pydantic models.

This is the file format (`plait workflows import/export`, the store, the API) and the JSON Schema shipped as
``schema.json`` is generated from it (``python -m plait.workflows.schema``), so the two cannot drift apart.

A node input is a reference ``{"ref": {"node": "search", "output": "documents"}}`` to another node's output (a
dotted ``output`` reaches into it), ``{"value": ...}`` for an explicit constant, or any other JSON value as a
constant. The reserved sources ``$vars`` (the run's variables) and ``$sys`` (values the caller supplies, such as
the user id or, in a chatflow, the user's message) can be referenced like nodes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator
from pydantic.json_schema import WithJsonSchema

DSL_VERSION = 1
VARIABLES = "$vars"  # reference source: the run's variables (declared in ``WorkflowDoc.variables``)
SYSTEM = "$sys"  # reference source: values the caller supplies (user_id, conversation_id, query, ...)
ERROR_HANDLE = "error"  # source handle of the edges taken when a node fails with ``on_error: branch``
BODY_HANDLE = "body"  # source handle of a container's edges into its body (loop, batch)

NODE_ID = r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$"
BASE_TYPES = ("string", "integer", "number", "boolean", "object", "file", "any")
TYPE_PATTERN = (
    r"^(string|integer|number|boolean|object|file|any|array(\[(string|integer|number|boolean|object|file|any)\])?)$"
)
_TYPE = re.compile(TYPE_PATTERN)

VarType = Annotated[str, Field(pattern=TYPE_PATTERN, description="a value type; arrays as array[string] etc.")]


def is_var_type(text: str) -> bool:
    return bool(_TYPE.match(text))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Param(_Model):
    """A declared input parameter, output or variable: a name and a type."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    type: VarType = "string"
    required: bool = True
    description: str = ""
    default: Any = None


class Reference(_Model):
    node: str = Field(description="a node id, $vars or $sys")
    output: str = Field(min_length=1, description="an output name; a dotted path reaches into it")

    @property
    def head(self) -> str:
        """The output name itself, without the path into it."""
        return self.output.split(".", 1)[0]


_INPUT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "ref": {
                    "type": "object",
                    "properties": {"node": {"type": "string"}, "output": {"type": "string", "minLength": 1}},
                    "required": ["node", "output"],
                    "additionalProperties": False,
                },
                "type": {"type": "string", "pattern": TYPE_PATTERN},
            },
            "required": ["ref"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"value": {}, "type": {"type": "string", "pattern": TYPE_PATTERN}},
            "required": ["value"],
            "additionalProperties": False,
        },
        {"description": "any other JSON value is a constant"},
    ]
}


class Input(_Model):
    """One input of a node: a reference or a constant, with an optional declared type."""

    ref: Reference | None = None
    value: Any = None
    type: VarType | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """Bare JSON values are constants; only ``{"ref": ...}`` and ``{"value": ...}`` objects are special."""
        if isinstance(data, Input):
            return data
        if isinstance(data, dict) and ("ref" in data or "value" in data) and set(data) <= {"ref", "value", "type"}:
            return data
        return {"value": data}

    @model_serializer(mode="wrap")
    def _compact(self, handler: Any) -> Any:
        if self.ref is not None:
            out: dict[str, Any] = {"ref": self.ref.model_dump()}
        elif self.type is None and not _looks_special(self.value):
            return self.value
        else:
            out = {"value": self.value}
        if self.type is not None:
            out["type"] = self.type
        return out


def _looks_special(value: Any) -> bool:
    return isinstance(value, dict) and ("ref" in value or "value" in value)


InputField = Annotated[Input, WithJsonSchema(_INPUT_SCHEMA)]


class RetrySpec(_Model):
    max_attempts: int = Field(default=1, ge=1, le=10, description="attempts in all, the first included")
    delay: float = Field(default=0.0, ge=0, le=60, description="seconds between attempts")


class ErrorPolicy(_Model):
    """What a failure of the node (after its retries) does to the run."""

    mode: Literal["fail", "branch", "default"] = "fail"
    default: dict[str, Any] = Field(default_factory=dict, description="the outputs used with mode 'default'")


class Node(_Model):
    id: str = Field(pattern=NODE_ID)
    type: str = Field(min_length=1)
    title: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, InputField] = Field(default_factory=dict)
    outputs: list[Param] = Field(default_factory=list, description="declared outputs, where the type needs them")
    on_error: ErrorPolicy = ErrorPolicy()
    retry: RetrySpec = RetrySpec()
    timeout: float | None = Field(default=None, gt=0, le=3600, description="seconds per attempt")
    body: Body | None = Field(default=None, description="the nodes a container (loop, batch) runs per iteration")
    ui: dict[str, Any] = Field(default_factory=dict, description="editor data (position...), ignored by the engine")


class Edge(_Model):
    source: str
    target: str
    source_handle: str | None = Field(
        default=None, description="a branch of the source: if/elif_0/else, error, body..."
    )


class Body(_Model):
    """The inside of a container node. Edges from the container (handle ``body``) enter it; edges back to the
    container end an iteration, so a cycle through a container is the loop, not an error."""

    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)


class WorkflowDoc(_Model):
    """A workflow file: what ``plait workflows import`` reads and ``export`` writes."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Plait workflow")

    version: Literal[1] = 1
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    kind: Literal["workflow", "chatflow"] = "workflow"
    inputs: list[Param] = Field(default_factory=list)
    outputs: list[Param] = Field(default_factory=list)
    variables: list[Param] = Field(default_factory=list, description="the run's variables and their defaults")
    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def to_json(self) -> dict[str, Any]:
        """The document as JSON-able data, constants in their short form and empty defaults left out."""
        return self.model_dump(mode="json", exclude_defaults=True) | {"version": DSL_VERSION, "name": self.name}


Node.model_rebuild()
