"""An OpenAPI document's operations, each described the way a tool needs it: where every argument goes (path,
query, header, JSON body) and the JSON Schema the model fills in.

Every problem in the document is collected, with the place it is at, before one InvalidOpenAPI lists them all:
whoever fixes the document sees everything at once instead of one error per attempt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from plait.tools.errors import InvalidOpenAPI
from plait.tools.openapi.schemas import Problem, Resolver
from plait.tools.tool_names import safe_name, unique_names

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_DESCRIPTION = 1024
_TEMPLATE = re.compile(r"\{([^{}]+)\}")
Location = Literal["path", "query", "header"]


@dataclass(frozen=True, slots=True)
class Parameter:
    """One argument of an operation: ``argument`` is its name in the tool's schema, ``name`` on the wire."""

    argument: str
    name: str
    location: Location
    required: bool
    schema: dict[str, Any]
    description: str = ""


@dataclass(slots=True)
class Operation:
    name: str
    method: str
    path: str
    description: str
    server: str | None
    operation_id: str | None = None
    parameters: list[Parameter] = field(default_factory=list)
    body_schema: dict[str, Any] | None = None
    body_required: bool = False

    def json_schema(self) -> dict[str, Any]:
        """The tool's arguments: one property per parameter, the JSON body under ``body``."""
        properties: dict[str, Any] = {}
        for parameter in self.parameters:
            schema = dict(parameter.schema)
            if parameter.description:
                schema.setdefault("description", parameter.description)
            properties[parameter.argument] = schema
        required = [p.argument for p in self.parameters if p.required]
        if self.body_schema is not None:
            properties["body"] = self.body_schema
            if self.body_required:
                required.append("body")
        return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def read_operations(document: dict[str, Any], source: str) -> list[Operation]:
    """The operations of ``document``, or InvalidOpenAPI listing every problem found."""
    problems: list[str] = []
    version = document.get("openapi")
    if not isinstance(version, str):
        problems.append("openapi: missing; an OpenAPI 3.0 or 3.1 document starts with 'openapi: 3.x.y'")
    elif not re.match(r"3\.[01](\.|$)", version):
        problems.append(f"openapi: version {version!r} is not supported (3.0 and 3.1 are)")
    paths = document.get("paths")
    if not isinstance(paths, dict):
        problems.append("paths: missing, or not an object")
        paths = {}
    resolver = Resolver(document)
    operations = list(_operations(resolver, document, paths, problems))
    if not operations and not problems:
        problems.append("paths: the document has no operations")
    _check_unique_ids(operations, problems)
    if problems:
        raise InvalidOpenAPI(source, problems)
    names = unique_names(op.name for op in operations)
    for operation, name in zip(operations, names, strict=True):
        operation.name = name
    return operations


def _operations(
    resolver: Resolver, document: dict[str, Any], paths: dict[str, Any], problems: list[str]
) -> Iterator[Operation]:
    for path, item in paths.items():
        where = f"paths.{path}"
        if not path.startswith("/"):
            problems.append(f"{where}: a path starts with '/'")
            continue
        try:
            item = resolver.deref(item)
        except Problem as error:
            problems.append(f"{where}: {error}")
            continue
        if not isinstance(item, dict):
            problems.append(f"{where}: not an object")
            continue
        shared = item.get("parameters", [])
        for method in METHODS:
            operation = _operation(resolver, document, path, method, item, shared, problems) if method in item else None
            if operation is not None:
                yield operation


def _operation(
    resolver: Resolver,
    document: dict[str, Any],
    path: str,
    method: str,
    item: dict[str, Any],
    shared: Any,
    problems: list[str],
) -> Operation | None:
    where = f"paths.{path}.{method}"
    raw = item[method]
    if not isinstance(raw, dict):
        problems.append(f"{where}: not an object")
        return None
    operation_id = raw.get("operationId")
    if operation_id is not None and not isinstance(operation_id, str):
        problems.append(f"{where}.operationId: not a string")
        operation_id = None
    text = "\n\n".join(str(raw[key]).strip() for key in ("summary", "description") if raw.get(key))
    operation = Operation(
        name=safe_name(operation_id or f"{method} {path}", f"{method} {path}"),
        method=method.upper(),
        path=path,
        description=(text or f"{method.upper()} {path}")[:MAX_DESCRIPTION],
        server=_server(raw.get("servers") or item.get("servers") or document.get("servers")),
        operation_id=operation_id,
    )
    operation.parameters = _parameters(resolver, where, shared, raw.get("parameters", []), problems)
    _check_template(operation, where, problems)
    if "requestBody" in raw:
        _body(resolver, f"{where}.requestBody", raw["requestBody"], operation, problems)
    return operation


def _server(servers: Any) -> str | None:
    """The first server's URL with its variables at their defaults."""
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return None
    url = servers[0].get("url")
    if not isinstance(url, str):
        return None
    variables = servers[0].get("variables") or {}
    for name, spec in variables.items() if isinstance(variables, dict) else []:
        if isinstance(spec, dict) and "default" in spec:
            url = url.replace("{" + str(name) + "}", str(spec["default"]))
    return url


def _parameters(resolver: Resolver, where: str, shared: Any, own: Any, problems: list[str]) -> list[Parameter]:
    """Path-level parameters, overridden by the operation's own of the same name and place."""
    found: dict[tuple[str, str], Parameter] = {}
    for scope, raws in ((f"{where.rsplit('.', 1)[0]}.parameters", shared), (f"{where}.parameters", own)):
        if not isinstance(raws, list):
            problems.append(f"{scope}: not a list")
            continue
        for index, raw in enumerate(raws):
            parameter = _parameter(resolver, f"{scope}[{index}]", raw, problems)
            if parameter is not None:
                found[(parameter.location, parameter.name)] = parameter
    taken = {"body"}
    named: list[Parameter] = []
    for parameter in found.values():  # the same name in two places: the second is prefixed with its place
        argument = parameter.name if parameter.name not in taken else f"{parameter.location}_{parameter.name}"
        taken.add(argument)
        named.append(
            Parameter(
                argument,
                parameter.name,
                parameter.location,
                parameter.required,
                parameter.schema,
                parameter.description,
            )
        )
    return named


def _parameter(resolver: Resolver, where: str, raw: Any, problems: list[str]) -> Parameter | None:
    try:
        raw = resolver.deref(raw)
        if not isinstance(raw, dict):
            raise Problem("not an object")
        name, location = raw.get("name"), raw.get("in")
        if not isinstance(name, str) or not name:
            raise Problem("a parameter needs a name")
        if location == "cookie":
            if raw.get("required"):
                raise Problem(f"required cookie parameter {name!r} is not supported")
            return None
        if location not in ("path", "query", "header"):
            raise Problem(f"parameter {name!r}: 'in' must be path, query, header or cookie, not {location!r}")
        if location == "path" and raw.get("required") is not True:
            raise Problem(f"path parameter {name!r} must be required: true")
        schema, content = raw.get("schema"), raw.get("content")
        if schema is None and isinstance(content, dict):  # a parameter may give its schema by media type
            first = next(iter(content.values()), None)
            schema = first.get("schema") if isinstance(first, dict) else None
        return Parameter(
            argument=name,
            name=name,
            location=location,
            required=bool(raw.get("required")),
            schema=resolver.schema(schema if schema is not None else {"type": "string"}),
            description=str(raw.get("description", "")),
        )
    except Problem as error:
        problems.append(f"{where}: {error}")
        return None


def _check_template(operation: Operation, where: str, problems: list[str]) -> None:
    in_template = set(_TEMPLATE.findall(operation.path))
    declared = {p.name for p in operation.parameters if p.location == "path"}
    problems.extend(f"{where}: path parameter {{{name}}} is not declared" for name in sorted(in_template - declared))
    problems.extend(f"{where}: path parameter {name!r} is not in the path" for name in sorted(declared - in_template))


def _body(resolver: Resolver, where: str, raw: Any, operation: Operation, problems: list[str]) -> None:
    try:
        raw = resolver.deref(raw)
        content = raw.get("content") if isinstance(raw, dict) else None
        if not isinstance(content, dict):
            raise Problem("requestBody needs a content object")
        media = next((m for m in content if m.split(";")[0].strip() in ("application/json",) or "+json" in m), None)
        required = bool(raw.get("required"))
        if media is None:
            if required:
                raise Problem(f"only JSON request bodies are supported, not {', '.join(content)}")
            return
        media_object = content[media] if isinstance(content[media], dict) else {}
        operation.body_schema = resolver.schema(media_object.get("schema", {}))
        operation.body_required = required
    except Problem as error:
        problems.append(f"{where}: {error}")


def _check_unique_ids(operations: list[Operation], problems: list[str]) -> None:
    seen: dict[str, Operation] = {}
    for operation in operations:
        operation_id = operation.operation_id
        if operation_id is None:
            continue
        if operation_id in seen:
            first = seen[operation_id]
            problems.append(
                f"paths.{operation.path}.{operation.method.lower()}: operationId {operation_id!r} is also used by "
                f"paths.{first.path}.{first.method.lower()}"
            )
        else:
            seen[operation_id] = operation
