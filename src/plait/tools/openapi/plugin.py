"""OpenAPI services as tools: one tool per operation, called through the SSRF guard within time and size
limits. A 4xx or 5xx answer is an UpstreamError the model reads (status and the start of the body), so it can
correct its arguments or tell the user; it is not a result the model could mistake for data."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from plait.schema import ToolSpec
from plait.tools.errors import InvalidArguments, InvalidOpenAPI, UpstreamError
from plait.tools.http_request import USER_AGENT, HttpLimits, fetch, wire_text
from plait.tools.net_guard import NetGuard
from plait.tools.openapi.auth import PluginAuth
from plait.tools.openapi.operations import Operation, read_operations
from plait.tools.openapi.source import fetch_document, parse_text, read_file

MAX_ERROR_BODY = 500  # characters of a failed call's body the model is shown


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginConfig:
    """How a plugin's calls are made. ``internal`` (an admin's mark for the company's own services) lets them
    reach private addresses; otherwise only public ones and ``allowed_networks``. ``base_url`` overrides the
    document's ``servers``."""

    base_url: str | None = None
    auth: PluginAuth = field(default_factory=PluginAuth)
    internal: bool = False
    allowed_networks: tuple[str, ...] = ()
    limits: HttpLimits = field(default_factory=HttpLimits)

    def guard(self) -> NetGuard:
        return NetGuard(allow_internal=self.internal, allowed_networks=self.allowed_networks)


class OpenAPITool:
    """One operation behind the ``Tool`` protocol."""

    def __init__(self, operation: Operation, base_url: str, config: PluginConfig, guard: NetGuard) -> None:
        from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

        self.operation = operation
        self.base_url = base_url.rstrip("/")
        self.config = config
        self.guard = guard
        self.spec = ToolSpec(name=operation.name, description=operation.description, parameters=operation.json_schema())
        self._validator = Draft202012Validator(self.spec.parameters)

    def __repr__(self) -> str:
        return f"OpenAPITool({self.spec.name!r}: {self.operation.method} {self.operation.path})"

    async def call(self, arguments: Mapping[str, Any]) -> Any:
        self._validate(arguments)
        path = self.operation.path
        headers: dict[str, str] = {"user-agent": USER_AGENT, "accept": "application/json, */*;q=0.5"}
        query: dict[str, object] = {}
        for parameter in self.operation.parameters:
            if parameter.argument not in arguments:
                continue
            value = arguments[parameter.argument]
            if parameter.location == "path":
                path = path.replace("{" + parameter.name + "}", quote(wire_text(value), safe=""))
            elif parameter.location == "query":
                query[parameter.name] = value
            else:
                headers[parameter.name] = wire_text(value)
        content = None
        if "body" in arguments and self.operation.body_schema is not None:
            content = json.dumps(arguments["body"]).encode()
            headers["content-type"] = "application/json"
        secret_headers = self.config.auth.apply(headers, query)
        result = await fetch(
            self.guard,
            self.config.limits,
            self.operation.method,
            self.base_url + path,
            headers=headers,
            query=query,
            content=content,
            secret_headers=secret_headers,
        )
        if result.status >= 400:
            body = result.body if isinstance(result.body, str) else json.dumps(result.body)
            clipped = body[:MAX_ERROR_BODY] + ("…" if len(body) > MAX_ERROR_BODY or result.truncated else "")
            raise UpstreamError(self.spec.name, result.status, clipped)
        return {"status": result.status, "body": result.body, "truncated": result.truncated}

    def _validate(self, arguments: Mapping[str, Any]) -> None:
        if not isinstance(arguments, Mapping):
            raise InvalidArguments(self.spec.name, [("(arguments)", "expected a JSON object")])
        errors = sorted(self._validator.iter_errors(dict(arguments)), key=lambda e: list(map(str, e.path)))
        if errors:
            problems = [(".".join(map(str, e.path)) or "(arguments)", e.message) for e in errors]
            raise InvalidArguments(self.spec.name, problems)


@dataclass(frozen=True, slots=True)
class OpenAPIPlugin:
    """The tools of one OpenAPI document, and where it came from."""

    title: str
    source: str
    tools: tuple[OpenAPITool, ...]

    @classmethod
    def from_document(
        cls, document: dict[str, Any], config: PluginConfig | None = None, *, source: str = "<document>"
    ) -> OpenAPIPlugin:
        config = config or PluginConfig()
        operations = read_operations(document, source)
        guard = config.guard()
        tools = []
        problems: list[str] = []
        for operation in operations:
            where = f"paths.{operation.path}.{operation.method.lower()}"
            base_url = _base_url(config.base_url, operation.server, source)
            if base_url is None:
                problems.append(f"{where}: no absolute server URL (servers[0].url); give a base_url")
            elif (problem := _schema_problem(operation)) is not None:
                problems.append(f"{where}: {problem}")
            else:
                tools.append(OpenAPITool(operation, base_url, config, guard))
        if problems:
            raise InvalidOpenAPI(source, problems)
        info = document.get("info")
        title = str(info.get("title", "")) if isinstance(info, dict) else ""
        return cls(title=title, source=source, tools=tuple(tools))

    @classmethod
    def from_text(
        cls, text: str | bytes, config: PluginConfig | None = None, *, source: str = "<text>"
    ) -> OpenAPIPlugin:
        """A JSON or YAML document."""
        return cls.from_document(parse_text(text, source), config, source=source)

    @classmethod
    def from_file(cls, path: str | Path, config: PluginConfig | None = None) -> OpenAPIPlugin:
        return cls.from_document(read_file(path), config, source=str(path))

    @classmethod
    async def from_url(cls, url: str, config: PluginConfig | None = None) -> OpenAPIPlugin:
        """The document at ``url``, fetched through the same guard as the plugin's calls; relative server
        URLs are taken relative to it."""
        config = config or PluginConfig()
        document = await fetch_document(url, config.guard(), config.limits)
        return cls.from_document(document, config, source=url)

    def tool(self, name: str) -> OpenAPITool:
        for tool in self.tools:
            if tool.spec.name == name:
                return tool
        raise KeyError(f"{self.source}: no tool named {name!r}; the tools are {[t.spec.name for t in self.tools]}")


def _schema_problem(operation: Operation) -> str | None:
    from jsonschema import Draft202012Validator, SchemaError

    try:
        Draft202012Validator.check_schema(operation.json_schema())
    except SchemaError as error:
        place = "/".join(map(str, error.path))
        return f"the arguments' schema is not valid JSON Schema at {place or 'its root'}: {error.message}"
    return None


def _base_url(override: str | None, server: str | None, source: str) -> str | None:
    """The override, else the document's server, made absolute against the document's own URL if relative."""
    url = override or server
    if url is None:
        return None
    try:
        if httpx.URL(url).is_absolute_url:
            return url
    except httpx.InvalidURL:
        return None
    if source.startswith(("http://", "https://")):
        return str(httpx.URL(source).join(url))
    return None
