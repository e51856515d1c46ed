"""An MCP server as a source of tools, over stdio (a command Plait starts) or streamable HTTP (a URL).

    async with McpToolSource(StdioServer(command="uvx", args=["mcp-server-time"])) as source:
        agent = ReactAgent(model, tools=await source.tools())

A server that dies, or a connection that drops, fails the call in flight with `McpServerError` (which the
agent shows the model like any tool failure) and the next call connects again: a call is never retried by
itself, since a tool may have acted before the server went away.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TextIO, TypeVar

import httpx2
from mcp import Client, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from plait.schema import ToolSpec
from plait.tools.errors import ToolError, ToolTimeout
from plait.tools.held_context import HeldContext
from plait.tools.mcp_content import McpToolFailed, output_of
from plait.tools.tool_names import safe_name, unique_names

CONNECTION_CLOSED = types.CONNECTION_CLOSED
REQUEST_TIMEOUT = types.REQUEST_TIMEOUT
CLOSE_SECONDS = 10.0  # the SDK stops a stdio server within about 5 s: asks, then SIGTERM, then SIGKILL
MAX_LIST_PAGES = 100  # a server whose tool list never ends cannot hang a listing
HTTP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)  # a call's own timeout bounds the read; this bounds the rest
T = TypeVar("T")
__all__ = ["HttpServer", "McpServer", "McpServerError", "McpTool", "McpToolFailed", "McpToolSource", "StdioServer"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StdioServer:
    """A server Plait starts and speaks to over its stdin and stdout. ``env`` is added to the few variables
    the SDK passes on (PATH, HOME...): the server does not see the rest of Plait's environment."""

    command: str
    args: Sequence[str] = ()
    env: Mapping[str, str] | None = None
    cwd: str | None = None

    def describe(self) -> str:
        return " ".join([self.command, *self.args])


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpServer:
    """A server at a streamable-HTTP endpoint; ``headers`` go with every request (an API key, say)."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return self.url.split("?", 1)[0]


McpServer = StdioServer | HttpServer


class McpServerError(ToolError):
    """The server could not be started or reached, or it went away; the next call connects again."""


class _Connection:
    """One session with the server: a client on a transport, held open by a task of its own (connect and
    close may come from any task; see `HeldContext`)."""

    def __init__(self, server: McpServer, errlog: TextIO) -> None:
        self._server = server
        self._errlog = errlog
        self._held = HeldContext(self._session(), name=f"mcp {server.describe()}")
        self.client: Client | None = None

    async def open(self, within: float) -> None:
        what = self._server.describe()
        try:
            self.client = await self._held.open(within)
        except TimeoutError:
            raise McpServerError(f"the MCP server {what} did not answer within {within:g} s") from None
        except Exception as exc:
            raise McpServerError(f"cannot connect to the MCP server {what}: {_first_cause(exc)}") from None

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[Client]:
        async with AsyncExitStack() as stack:
            if isinstance(self._server, StdioServer):
                parameters = StdioServerParameters(
                    command=self._server.command,
                    args=list(self._server.args),
                    env=dict(self._server.env) if self._server.env is not None else None,
                    cwd=self._server.cwd,
                )
                transport = stdio_client(parameters, errlog=self._errlog)
            else:
                http = await stack.enter_async_context(
                    httpx2.AsyncClient(headers=dict(self._server.headers), timeout=HTTP_TIMEOUT)
                )
                transport = streamable_http_client(self._server.url, http_client=http)
            yield await stack.enter_async_context(Client(transport, cache=None))

    @property
    def alive(self) -> bool:
        return self._held.alive

    async def close(self) -> None:
        """Leave the session (a stdio server is asked to stop, then terminated); never raises its failure."""
        self.client = None
        await self._held.close(CLOSE_SECONDS)


def _first_cause(error: BaseException) -> str:
    """The first real cause in what a connection failed with (anyio wraps it in exception groups)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return f"{type(error).__name__}: {error}"


class McpToolSource:
    """The tools of one MCP server as Plait tools; a connection made on first use and remade after a loss.

    ``prefix`` goes before every tool name (``"fs_"``), so the tools of several servers can share an
    agent; names are made safe for model APIs (``say.hi`` becomes ``say_hi``) and the call uses the
    server's own name."""

    def __init__(
        self,
        server: McpServer,
        *,
        prefix: str = "",
        call_timeout: float = 60.0,
        connect_timeout: float = 30.0,
        errlog: TextIO | None = None,
    ) -> None:
        if call_timeout <= 0 or connect_timeout <= 0:
            raise ValueError("call_timeout and connect_timeout must be positive numbers of seconds")
        self.server = server
        self.prefix = prefix
        self.call_timeout = call_timeout
        self.connect_timeout = connect_timeout
        self._errlog = errlog if errlog is not None else sys.stderr
        self._connection: _Connection | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> McpToolSource:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        """Start (or reach) the server and open a session, unless one is open."""
        await self._client()

    async def close(self) -> None:
        async with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def _client(self) -> tuple[_Connection, Client]:
        async with self._lock:
            connection = self._connection
            if connection is None or not connection.alive:
                if connection is not None:
                    await connection.close()
                self._connection = None
                connection = _Connection(self.server, self._errlog)
                await connection.open(within=self.connect_timeout)
                self._connection = connection
            assert connection.client is not None
            return connection, connection.client

    async def _lost(self, connection: _Connection) -> None:
        """Forget a connection that failed, unless another call already replaced it."""
        async with self._lock:
            if self._connection is connection:
                self._connection = None
        await connection.close()

    async def tools(self) -> list[McpTool]:
        """The server's tools now (a server may change them; list again to see changes)."""
        listed: list[types.Tool] = []
        cursor: str | None = None
        for _ in range(MAX_LIST_PAGES):

            def list_page(client: Client, cursor: str | None = cursor) -> Awaitable[types.ListToolsResult]:
                return client.list_tools(cursor=cursor)

            page = await self._request("tools/list", list_page)
            listed.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        names = unique_names(self.prefix + safe_name(tool.name, "tool") for tool in listed)
        return [McpTool(self, _spec(name, tool), tool.name) for name, tool in zip(names, listed, strict=True)]

    async def call(self, name: str, arguments: Mapping[str, Any] | None = None) -> Any:
        """Call the server's tool ``name`` (its own name, not the prefixed one); its output as text, or JSON
        when it sent only structured content. An error result raises `ToolError` with the server's message."""
        result = await self._request(name, lambda client: client.call_tool(name, dict(arguments or {})))
        return output_of(name, result)

    async def _request(self, what: str, send: Callable[[Client], Awaitable[T]]) -> T:
        """Run one request with the call timeout; a lost connection is forgotten, so the next one reconnects."""
        connection, client = await self._client()
        try:
            async with asyncio.timeout(self.call_timeout):
                return await send(client)
        except TimeoutError:
            raise ToolTimeout(f"{what}: the MCP server did not answer within {self.call_timeout:g} s") from None
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                raise ToolTimeout(f"{what}: the MCP server did not answer within {self.call_timeout:g} s") from None
            if exc.code != CONNECTION_CLOSED and connection.alive:
                raise ToolError(f"{what}: the MCP server refused the request: {exc.message}") from None
            await self._lost(connection)
            raise McpServerError(
                f"{what}: the MCP server {self.server.describe()} went away during the call ({exc.message}); "
                "the next call connects again"
            ) from None


def _spec(name: str, tool: types.Tool) -> ToolSpec:
    parameters = dict(tool.input_schema) if tool.input_schema else {}
    parameters.setdefault("type", "object")
    if parameters["type"] == "object":
        parameters.setdefault("properties", {})
    return ToolSpec(name=name, description=tool.description or tool.title or "", parameters=parameters)


class McpTool:
    """One tool of an MCP server: a Plait `Tool` whose calls go through its source's connection."""

    def __init__(self, source: McpToolSource, spec: ToolSpec, remote_name: str) -> None:
        self.spec = spec
        self.remote_name = remote_name
        self._source = source

    async def call(self, arguments: Mapping[str, Any]) -> Any:
        return await self._source.call(self.remote_name, arguments)

    def __repr__(self) -> str:
        return f"McpTool({self.spec.name!r} on {self._source.server.describe()})"
