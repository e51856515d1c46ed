"""A plugin row as tools: an OpenAPI document's operations with the decrypted auth, an MCP server's tools, or
a built-in tool. `PluginTools` keeps them per process: MCP servers stay connected across chats (one process or
session per plugin, not one per chat), and an entry is rebuilt when its plugin's ``revision`` changes."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from plait.components import Tool
from plait.platform.bot_config import PluginApi
from plait.platform.builtin_plugins import BUILTINS, is_builtin
from plait.store import Database
from plait.store.crypto import SecretBox, UndecryptableSecret
from plait.store.tables import Plugin
from plait.tools.errors import ToolError
from plait.tools.http_request import HttpLimits
from plait.tools.mcp_client import HttpServer, McpServer, McpToolSource, StdioServer
from plait.tools.net_guard import NetGuard
from plait.tools.openapi import OpenAPIPlugin, PluginAuth, PluginConfig

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = HttpLimits().max_bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    name: str
    description: str


def secret_of(row: Plugin, box: SecretBox) -> str:
    """The plugin's secret, or "" (logged) when it no longer decrypts: the service then refuses the calls."""
    if not row.encrypted_secret:
        return ""
    try:
        return box.decrypt(row.encrypted_secret, context=row.id)
    except UndecryptableSecret:
        log.error("the secret of plugin %r (workspace %s) does not decrypt; set it again", row.name, row.workspace_id)
        return ""


def timeout_of(row: Plugin) -> float:
    return float(row.options.get("timeout_seconds", DEFAULT_TIMEOUT))


def plugin_auth(auth: Mapping[str, Any], secret: str) -> PluginAuth:
    """The stored auth (its kind checked when written) with its secret; none without a secret."""
    kind: Any = auth.get("kind", "none") if secret else "none"
    return PluginAuth(
        kind=kind,
        secret=secret,
        name=auth.get("name", ""),
        location=auth.get("location", "header"),
        username=auth.get("username", ""),
    )


def openapi_plugin(row: Plugin, secret: str) -> OpenAPIPlugin:
    """Raises InvalidOpenAPI; a row that was stored has passed this once."""
    limits = HttpLimits(
        timeout=timeout_of(row), max_bytes=int(row.options.get("max_response_bytes", DEFAULT_MAX_BYTES))
    )
    auth = plugin_auth(row.auth, secret)
    config = PluginConfig(base_url=row.source.get("base_url"), auth=auth, internal=row.internal, limits=limits)
    return OpenAPIPlugin.from_text(row.source["document"], config, source=row.source.get("url") or row.name)


def mcp_server(row: Plugin, secret: str) -> McpServer:
    """The transport, with the secret where its auth puts it (an environment variable, or a header)."""
    source, auth = row.source, row.auth
    if source["transport"] == "stdio":
        env = dict(source.get("env") or {})
        if secret and auth.get("kind") == "api_key":
            env[auth["name"]] = secret
        return StdioServer(command=source["command"], args=tuple(source.get("args") or ()), env=env)
    headers = dict(source.get("headers") or {})
    plugin_auth(auth, secret).apply(headers, {})
    return HttpServer(url=source["url"], headers=headers)


async def mcp_source(row: Plugin, secret: str, errlog: TextIO | None = None) -> McpToolSource:
    """An unconnected source; a streamable-HTTP URL of a plugin not marked internal must be public (checked
    here, at each new source: the SDK's HTTP client is not pinned to the checked address)."""
    server = mcp_server(row, secret)
    if isinstance(server, HttpServer) and not row.internal:
        await NetGuard().check(server.url, where=f"plugin {row.name}")
    timeout = timeout_of(row)
    return McpToolSource(server, call_timeout=timeout, connect_timeout=min(timeout, 30.0), errlog=errlog)


def operations_of(tools: Sequence[Tool]) -> tuple[Operation, ...]:
    return tuple(Operation(name=tool.spec.name, description=tool.spec.description) for tool in tools)


@dataclass(slots=True)
class _Entry:
    revision: int
    tools: dict[str, Tool]
    source: McpToolSource | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class PluginTools:
    """The tools of bound plugins in this process; ``aclose`` stops the MCP servers it started."""

    def __init__(self, database: Database, box: SecretBox, *, errlog: TextIO | None = None) -> None:
        self._database = database
        self._box = box
        self._errlog = errlog if errlog is not None else sys.stderr
        self._entries: dict[str, _Entry] = {}
        self._builtins = {plugin_id: plugin.make() for plugin_id, plugin in BUILTINS.items()}
        self._locks: dict[str, asyncio.Lock] = {}
        self._closing: set[asyncio.Task[None]] = set()

    async def for_bot(
        self, workspace_id: str, bindings: Sequence[PluginApi], *, taken: Collection[str] = ()
    ) -> list[Tool]:
        """The bound tools, in the bindings' order; a plugin deleted or unreachable since, an operation it no
        longer has, or a name in ``taken`` (the bot's other tools) is left out (logged), so the bot still
        answers with what it has."""
        ids = list(dict.fromkeys(b.plugin_id for b in bindings if not is_builtin(b.plugin_id)))
        rows: dict[str, Plugin] = {}
        if ids:
            async with self._database.unit_of_work() as uow:
                rows = {row.id: row for row in await uow.plugins.among(workspace_id, ids)}
        tools: list[Tool] = []
        seen = set(taken)
        for binding in bindings:
            found = await self._tool(binding, rows)
            if found is not None and found.spec.name in taken:
                log.warning("plugin tool %r is left out: the bot has another tool of that name", found.spec.name)
            elif found is not None and found.spec.name not in seen:
                seen.add(found.spec.name)
                tools.append(found)
        return tools

    async def _tool(self, binding: PluginApi, rows: dict[str, Plugin]) -> Tool | None:
        if is_builtin(binding.plugin_id):
            return self._builtins[binding.plugin_id]
        row = rows.get(binding.plugin_id)
        if row is None:
            log.warning("plugin %s is gone; a bot still names it", binding.plugin_id)
            return None
        try:
            tools = await self.tools_of(row)
        except (ToolError, ValueError) as error:
            log.warning("plugin %r gives no tools now: %s", row.name, error)
            return None
        return tools.get(binding.api_id)

    async def tools_of(self, row: Plugin) -> dict[str, Tool]:
        """The plugin's tools by name; connects to an MCP server the first time (raises ToolError if it cannot)."""
        entry = self._entries.get(row.id)
        if entry is not None and entry.revision == row.revision:
            return entry.tools
        lock = self._locks.setdefault(row.id, asyncio.Lock())
        async with lock:
            entry = self._entries.get(row.id)
            if entry is not None and entry.revision == row.revision:
                return entry.tools
            fresh = await self._build(row)
            if entry is not None and entry.revision > row.revision:  # a slower reader of an older row
                await _close(fresh)
                return entry.tools
            self._entries[row.id] = fresh
            if entry is not None:
                self._close_later(entry)
            return fresh.tools

    async def _build(self, row: Plugin) -> _Entry:
        secret = secret_of(row, self._box)
        if row.kind == "openapi":
            plugin = openapi_plugin(row, secret)
            return _Entry(row.revision, {tool.spec.name: tool for tool in plugin.tools})
        source = await mcp_source(row, secret, self._errlog)
        try:
            listed = await source.tools()  # bounded by the source's connect and call timeouts
        except BaseException:
            await source.close()
            raise
        return _Entry(row.revision, {tool.spec.name: tool for tool in listed}, source=source)

    async def live_operations(self, row: Plugin) -> tuple[tuple[Operation, ...], str | None]:
        """What a listing shows: the plugin's operations now, or the ones last stored and why they could not
        be read (an MCP server that cannot be reached)."""
        try:
            tools = await self.tools_of(row)
        except (ToolError, ValueError) as error:
            return stored_operations(row), str(error)
        return operations_of(list(tools.values())), None

    def forget(self, plugin_id: str) -> None:
        """A deleted plugin: stop its server now rather than at shutdown."""
        entry = self._entries.pop(plugin_id, None)
        if entry is not None:
            self._close_later(entry)

    def _close_later(self, entry: _Entry) -> None:
        task = asyncio.create_task(_close(entry))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        entries, self._entries = list(self._entries.values()), {}
        await asyncio.gather(*(_close(entry) for entry in entries), *self._closing, return_exceptions=True)


def stored_operations(row: Plugin) -> tuple[Operation, ...]:
    return tuple(Operation(name=o["name"], description=o.get("description", "")) for o in row.operations)


def operations_json(operations: Sequence[Operation]) -> list[dict[str, str]]:
    return [{"name": o.name, "description": o.description} for o in operations]


async def _close(entry: _Entry) -> None:
    if entry.source is not None:
        await entry.source.close()


def document_text(document: dict[str, object]) -> str:
    """How a document fetched from a URL is stored: as JSON text, like one sent inline."""
    return json.dumps(document, ensure_ascii=False)
