"""The published bots of the caller's workspace as an MCP server (the SDK's low-level ``Server``), free of any
transport: ``/mcp`` serves it over streamable HTTP, ``plait mcp serve`` over stdio. Each transport says who
calls, through ``caller_of``.

A bot's failure is a tool result with ``isError`` and the chat's clean reason, so a model reads it; a tool
that does not exist is a JSON-RPC error, as MCP has it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from mcp import types
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from plait.platform import NotFound, PlatformError, Principal
from plait.platform.bot_tools import MESSAGE_SCHEMA, bot_tools, start_tool_chat, tool_reply
from plait.platform.services import Services

log = logging.getLogger("plait.server.mcp")
INSTRUCTIONS = (
    "Each tool is a published bot of your Plait workspace: send it one message and it answers as it would "
    "in a new conversation."
)
Context = ServerRequestContext[Any, Any]


@dataclass(frozen=True, slots=True)
class McpCaller:
    services: Services
    principal: Principal


def bot_tools_server(caller_of: Callable[[Context], McpCaller]) -> Server[Any]:
    async def list_tools(ctx: Context, _params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        caller = caller_of(ctx)
        try:
            async with caller.services.unit_of_work() as uow:
                tools = await bot_tools(uow, caller.principal)
        except PlatformError as exc:
            raise MCPError(types.INVALID_REQUEST, exc.msg) from None
        return types.ListToolsResult(
            tools=[
                types.Tool(name=tool.name, title=tool.title, description=tool.description, input_schema=MESSAGE_SCHEMA)
                for tool in tools
            ]
        )

    async def call_tool(ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        caller = caller_of(ctx)
        try:
            async with caller.services.unit_of_work() as uow:
                run = await start_tool_chat(uow, caller.principal, caller.services.chats, params.name, params.arguments)
        except NotFound as exc:
            raise MCPError(types.INVALID_PARAMS, exc.msg) from None
        except PlatformError as exc:
            if exc.http_status >= 500:
                log.error("MCP tool %s failed to start", params.name, exc_info=exc)
                return _result("the bot could not be asked: an internal error (see the server log)", error=True)
            return _result(exc.msg, error=True)
        reply = await tool_reply(run)
        return _result(reply.text, error=not reply.ok)

    return Server(
        "plait",
        version=version("plait"),
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _result(text: str, *, error: bool) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=error)
