"""Plugins: a workspace's tool sources (an OpenAPI document, an MCP server) that its bots name in
``plugin_id_list``, plus the built-in ones every workspace has.

A plugin is checked whole when it is created: its document must give tools (every problem listed), its MCP
server must answer. The secret of its auth is stored encrypted and never shown: records say whether one is
set. Two things only an owner or admin may do, since they reach past the workspace: an MCP server started as a
command (it runs as a process of the server), and ``internal`` (its calls may reach private addresses).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from plait.platform import audit
from plait.platform.access import Principal
from plait.platform.builtin_plugins import BUILTINS, is_builtin
from plait.platform.errors import Forbidden, InvalidParams, NotFound
from plait.platform.plugin_tools import DEFAULT_MAX_BYTES as DEFAULT_MAX_BYTES
from plait.platform.plugin_tools import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from plait.platform.plugin_tools import (
    Operation,
    PluginTools,
    document_text,
    mcp_source,
    openapi_plugin,
    operations_json,
    operations_of,
    secret_of,
    stored_operations,
    timeout_of,
)
from plait.platform.providers import ADMIN_ROLES
from plait.store import UnitOfWork, new_id
from plait.store.crypto import SecretBox
from plait.store.tables import Plugin
from plait.tools.errors import InvalidOpenAPI, ToolError
from plait.tools.http_request import HttpLimits
from plait.tools.net_guard import NetGuard
from plait.tools.openapi.source import MAX_DOCUMENT_BYTES, fetch_document

AUTH_KINDS = ("none", "api_key", "bearer", "basic")
MAX_NAME = 100
MAX_DESCRIPTION = 2000
MAX_TIMEOUT = 300.0
MAX_RESPONSE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthSettings:
    """``name`` is the header or query parameter of an ``api_key`` (for an MCP command: the environment
    variable it is passed in, with ``location="env"``)."""

    kind: str = "none"
    secret: str = field(default="", repr=False)
    name: str = ""
    location: str = "header"
    username: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAPISource:
    """Exactly one of the document's text (JSON or YAML), a URL to fetch it from, or an uploaded file."""

    document: str | None = None
    url: str | None = None
    file_id: str | None = None
    base_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class McpSource:
    transport: Literal["stdio", "http"]
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewPlugin:
    name: str
    kind: str
    description: str = ""
    openapi: OpenAPISource | None = None
    mcp: McpSource | None = None
    auth: AuthSettings = field(default_factory=AuthSettings)
    internal: bool = False
    timeout_seconds: float = DEFAULT_TIMEOUT
    max_response_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginChange:
    """None keeps what is stored; a new ``auth`` replaces the old one, secret included."""

    description: str | None = None
    auth: AuthSettings | None = None
    timeout_seconds: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthInfo:
    kind: str
    name: str
    location: str
    username: str
    has_secret: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginRecord:
    """A plugin as the API shows it. ``error`` says why ``operations`` may be stale (an MCP server that cannot
    be reached now); ``source`` holds no secret and, for a document, not the document itself."""

    id: str
    name: str
    description: str
    kind: str
    source: dict[str, Any]
    auth: AuthInfo
    internal: bool
    timeout_seconds: float
    max_response_bytes: int
    operations: tuple[Operation, ...]
    error: str | None
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginContext:
    """What plugin use cases need beyond the unit of work: the secret box, this process's plugin tools, and
    the data dir (uploaded documents)."""

    box: SecretBox
    tools: PluginTools
    data_dir: Path


def _require_admin(principal: Principal, what: str) -> None:
    if principal.role not in ADMIN_ROLES:
        raise Forbidden(f"role {principal.role!r} cannot {what}: only a workspace owner or admin can")


def _check_text(name: str, value: str, limit: int, *, required: bool = False) -> None:
    if required and not value.strip():
        raise InvalidParams(f"{name}: must not be empty")
    if len(value) > limit:
        raise InvalidParams(f"{name}: at most {limit} characters")


def _check_limits(timeout: float, max_bytes: int) -> None:
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        raise InvalidParams(f"timeout_seconds: between 0 and {MAX_TIMEOUT:g} seconds")
    if not 1024 <= max_bytes <= MAX_RESPONSE_BYTES:
        raise InvalidParams(f"max_response_bytes: between 1024 and {MAX_RESPONSE_BYTES}")


def _auth_columns(auth: AuthSettings, kind: str, transport: str | None) -> dict[str, str]:
    """The stored, non-secret part of ``auth``, after checking it fits the plugin."""
    if auth.kind not in AUTH_KINDS:
        raise InvalidParams(f"auth.kind: one of {', '.join(AUTH_KINDS)}, not {auth.kind!r}")
    if auth.kind == "none":
        return {"kind": "none"}
    if not auth.secret:
        raise InvalidParams(f"auth.secret: {auth.kind} auth needs its secret")
    if auth.kind == "api_key" and not auth.name.strip():
        raise InvalidParams("auth.name: an api_key goes in a header, query parameter or variable: name it")
    locations = {"openapi": ("header", "query"), "http": ("header",), "stdio": ("env",)}[transport or kind]
    if auth.kind == "api_key" and auth.location not in locations:
        raise InvalidParams(f"auth.location: for this plugin one of {', '.join(locations)}, not {auth.location!r}")
    if transport == "stdio" and auth.kind != "api_key":
        raise InvalidParams("auth.kind: an MCP command takes its secret as an api_key in an environment variable")
    return {"kind": auth.kind, "name": auth.name, "location": auth.location, "username": auth.username}


def _set_auth(row: Plugin, auth: AuthSettings, box: SecretBox) -> None:
    row.auth = _auth_columns(auth, row.kind, row.source.get("transport"))
    row.encrypted_secret = box.encrypt(auth.secret, context=row.id) if auth.kind != "none" else None


async def _document(uow: UnitOfWork, principal: Principal, source: OpenAPISource, row: Plugin, data_dir: Path) -> str:
    given = [name for name in ("document", "url", "file_id") if getattr(source, name)]
    if len(given) != 1:
        raise InvalidParams("openapi: give exactly one of document, url or file_id")
    if source.document:
        return source.document
    if source.file_id:
        file = await uow.files.get(principal.workspace_id, source.file_id)
        if file is None:
            raise NotFound(f"file {source.file_id} not found")
        if file.bytes > MAX_DOCUMENT_BYTES:
            raise InvalidParams(f"openapi.file_id: the file is over {MAX_DOCUMENT_BYTES:,} bytes")
        try:
            return (data_dir / file.path).read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidParams(f"openapi.file_id: cannot read the file as UTF-8 text: {error}") from None
    assert source.url is not None
    guard = NetGuard(allow_internal=row.internal)
    try:
        return document_text(await fetch_document(source.url, guard, HttpLimits(timeout=timeout_of(row))))
    except InvalidOpenAPI as error:
        raise _invalid(error) from None
    except ToolError as error:
        raise InvalidParams(f"openapi.url: cannot fetch the document: {error}") from None


def _invalid(error: InvalidOpenAPI) -> InvalidParams:
    return InvalidParams(
        f"openapi: not a usable OpenAPI document ({len(error.problems)} problems): " + "; ".join(error.problems)
    )


async def _operations(row: Plugin, box: SecretBox) -> tuple[Operation, ...]:
    """The tools the row gives now, or InvalidParams saying why it gives none."""
    secret = secret_of(row, box)
    if row.kind == "openapi":
        try:
            tools = openapi_plugin(row, secret).tools
        except InvalidOpenAPI as error:
            raise _invalid(error) from None
        if not tools:
            raise InvalidParams("openapi: the document has no operations (paths)")
        return operations_of(tools)
    try:
        source = await mcp_source(row, secret)
        async with source:
            return operations_of(await source.tools())
    except ToolError as error:
        raise InvalidParams(f"mcp: {error}") from None


def _mcp_columns(principal: Principal, mcp: McpSource) -> dict[str, Any]:
    if mcp.transport == "stdio":
        _require_admin(principal, "add an MCP server started as a command (it runs on the Plait server)")
        if not mcp.command.strip():
            raise InvalidParams("mcp.command: the program that starts the server")
        return {"transport": "stdio", "command": mcp.command, "args": list(mcp.args), "env": dict(mcp.env)}
    if mcp.transport != "http":
        raise InvalidParams(f"mcp.transport: stdio or http, not {mcp.transport!r}")
    if not mcp.url.startswith(("http://", "https://")):
        raise InvalidParams(f"mcp.url: {mcp.url!r} is not an http(s) URL")
    return {"transport": "http", "url": mcp.url, "headers": dict(mcp.headers)}


async def create_plugin(uow: UnitOfWork, principal: Principal, context: PluginContext, new: NewPlugin) -> PluginRecord:
    principal.require_writer()
    _check_text("name", new.name, MAX_NAME, required=True)
    _check_text("description", new.description, MAX_DESCRIPTION)
    _check_limits(new.timeout_seconds, new.max_response_bytes)
    if new.internal:
        _require_admin(principal, "mark a plugin internal (its calls may reach private addresses)")
    if await uow.plugins.named(principal.workspace_id, new.name) is not None:
        raise InvalidParams(f"name: the workspace already has a plugin named {new.name!r}")
    row = Plugin(
        id=new_id(),
        workspace_id=principal.workspace_id,
        name=new.name,
        description=new.description,
        kind=new.kind,
        internal=new.internal,
        options={"timeout_seconds": new.timeout_seconds, "max_response_bytes": new.max_response_bytes},
        revision=1,
        created_by=principal.user_id,
    )
    if new.kind == "openapi":
        if new.openapi is None:
            raise InvalidParams("openapi: an openapi plugin needs its document (document, url or file_id)")
        row.source = {"url": new.openapi.url, "file_id": new.openapi.file_id, "base_url": new.openapi.base_url}
        _set_auth(row, new.auth, context.box)
        row.source["document"] = await _document(uow, principal, new.openapi, row, context.data_dir)
    elif new.kind == "mcp":
        if new.mcp is None:
            raise InvalidParams("mcp: an mcp plugin needs its server (transport stdio or http)")
        row.source = _mcp_columns(principal, new.mcp)
        _set_auth(row, new.auth, context.box)
    else:
        raise InvalidParams(f"kind: openapi or mcp, not {new.kind!r} (built-in plugins need no creating)")
    operations = await _operations(row, context.box)
    row.operations = operations_json(operations)
    await uow.plugins.add(row)
    facts = {"transport": row.source.get("transport"), "internal": row.internal, "tools": len(operations)}
    _audit(uow, principal, "plugin.create", row, **facts)
    return _record(row, operations, None)


def _audit(uow: UnitOfWork, principal: Principal, action: str, row: Plugin, **detail: audit.Detail) -> None:
    """The plugin's name, kind, auth kind and what changed; never its source (a document, a command line,
    headers) or secret."""
    facts = {"name": row.name, "kind": row.kind, "auth": row.auth.get("kind", "none"), **detail}
    audit.record(uow, audit.Actor.of(principal), action, row.workspace_id, ("plugin", row.id), **facts)


def _record(row: Plugin, operations: tuple[Operation, ...], error: str | None) -> PluginRecord:
    source = {key: value for key, value in row.source.items() if key not in ("document", "env", "headers")}
    if row.source.get("transport") == "stdio":
        source["env"] = sorted(row.source.get("env") or {})  # the names only: values may be credentials
    if row.source.get("transport") == "http":
        source["headers"] = sorted(row.source.get("headers") or {})
    auth = row.auth
    return PluginRecord(
        id=row.id,
        name=row.name,
        description=row.description,
        kind=row.kind,
        source=source,
        auth=AuthInfo(
            kind=auth.get("kind", "none"),
            name=auth.get("name", ""),
            location=auth.get("location", ""),
            username=auth.get("username", ""),
            has_secret=row.encrypted_secret is not None,
        ),
        internal=row.internal,
        timeout_seconds=float(row.options.get("timeout_seconds", DEFAULT_TIMEOUT)),
        max_response_bytes=int(row.options.get("max_response_bytes", DEFAULT_MAX_BYTES)),
        operations=operations,
        error=error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def builtin_record(plugin_id: str) -> PluginRecord:
    plugin = BUILTINS[plugin_id]
    tool = plugin.make()
    return PluginRecord(
        id=plugin.id,
        name=plugin.name,
        description=plugin.description,
        kind="builtin",
        source={},
        auth=AuthInfo(kind="none", name="", location="", username="", has_secret=False),
        internal=False,
        timeout_seconds=DEFAULT_TIMEOUT,
        max_response_bytes=DEFAULT_MAX_BYTES,
        operations=operations_of([tool]),
        error=None,
        created_at=0,
        updated_at=0,
    )


async def _shown(row: Plugin, tools: PluginTools) -> PluginRecord:
    if row.kind == "mcp":
        return _record(row, *await tools.live_operations(row))
    return _record(row, stored_operations(row), None)


async def _row(uow: UnitOfWork, principal: Principal, plugin_id: str) -> Plugin:
    if is_builtin(plugin_id):
        raise InvalidParams(f"plugin_id: {plugin_id} is built in: it cannot be changed or deleted")
    row = await uow.plugins.get(principal.workspace_id, plugin_id)
    if row is None:
        raise NotFound(f"plugin {plugin_id} not found")
    return row


async def get_plugin(uow: UnitOfWork, principal: Principal, tools: PluginTools, plugin_id: str) -> PluginRecord:
    if is_builtin(plugin_id):
        return builtin_record(plugin_id)
    return await _shown(await _row(uow, principal, plugin_id), tools)


async def list_plugins(uow: UnitOfWork, principal: Principal, tools: PluginTools, space_id: str) -> list[PluginRecord]:
    """The built-in plugins, then the workspace's own, oldest first; MCP servers are asked for their tools."""
    principal.require_workspace(space_id)
    own = [await _shown(row, tools) for row in await uow.plugins.all(space_id)]
    return [*(builtin_record(plugin_id) for plugin_id in BUILTINS), *own]


async def update_plugin(
    uow: UnitOfWork, principal: Principal, context: PluginContext, plugin_id: str, change: PluginChange
) -> PluginRecord:
    """Change the description, auth or timeout; the operations are read again (an MCP server's may change)."""
    principal.require_writer()
    row = await _row(uow, principal, plugin_id)
    if row.internal or row.source.get("transport") == "stdio":
        _require_admin(principal, "change an internal plugin or an MCP command")
    if change.description is not None:
        _check_text("description", change.description, MAX_DESCRIPTION)
        row.description = change.description
    if change.timeout_seconds is not None:
        _check_limits(change.timeout_seconds, int(row.options.get("max_response_bytes", DEFAULT_MAX_BYTES)))
        row.options = {**row.options, "timeout_seconds": change.timeout_seconds}
    if change.auth is not None:
        _set_auth(row, change.auth, context.box)
    operations = await _operations(row, context.box)
    row.operations = operations_json(operations)
    row.revision += 1
    await uow.flush()
    changed = [name for name in ("description", "auth", "timeout_seconds") if getattr(change, name) is not None]
    _audit(uow, principal, "plugin.update", row, changed=changed)
    return _record(row, operations, None)


async def delete_plugin(uow: UnitOfWork, principal: Principal, tools: PluginTools, plugin_id: str) -> None:
    """Refused while a bot's draft or published version names the plugin: its chats would lose tools quietly."""
    principal.require_writer()
    row = await _row(uow, principal, plugin_id)
    if row.internal or row.source.get("transport") == "stdio":
        _require_admin(principal, "delete an internal plugin or an MCP command")
    users = [
        f"{name!r} ({bot_id})"
        for bot_id, name, draft, published in await uow.plugins.bindings(principal.workspace_id)
        if any(binding.get("plugin_id") == plugin_id for binding in [*draft, *published])
    ]
    if users:
        raise InvalidParams(
            f"plugin {row.name!r} is used by bots {', '.join(users)}: remove it from their plugin_id_list "
            "and publish them again first"
        )
    await uow.plugins.delete(principal.workspace_id, row.id)
    _audit(uow, principal, "plugin.delete", row, internal=row.internal)

    async def stop() -> None:
        tools.forget(row.id)

    uow.after_commit(stop)
