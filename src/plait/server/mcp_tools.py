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
from plait.platform.workflows.tools import ToolOutcome, run_tool, workflow_tools

log = logging.getLogger("plait.server.mcp")
INSTRUCTIONS = (
    "Each tool is a published bot of your Plait workspace (send it one message and it answers as it would "
    "in a new conversation) or a published workflow (give it the workflow's inputs; it answers with its outputs)."
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
                flows = await workflow_tools(uow, caller.principal, taken=[tool.name for tool in tools])
        except PlatformError as exc:
            raise MCPError(types.INVALID_REQUEST, exc.msg) from None
        return types.ListToolsResult(
            tools=[
                types.Tool(name=tool.name, title=tool.title, description=tool.description, input_schema=MESSAGE_SCHEMA)
                for tool in tools
            ]
            + [
                types.Tool(name=flow.name, title=flow.title, description=flow.description, input_schema=flow.parameters)
                for flow in flows
            ]
        )

    async def call_tool(ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        caller = caller_of(ctx)
        outcome = await _workflow_call(caller, params)
        if outcome is not None:
            return _result(outcome.text, error=not outcome.ok)
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


async def _workflow_call(caller: McpCaller, params: types.CallToolRequestParams) -> ToolOutcome | None:
    """A call of a published workflow's tool, run to its end; None when the name is not a workflow's."""
    async with caller.services.unit_of_work() as uow:
        taken = [tool.name for tool in await bot_tools(uow, caller.principal)]
        flow = next(
            (f for f in await workflow_tools(uow, caller.principal, taken=taken) if f.name == params.name), None
        )
        if flow is None:
            return None
        workflows = caller.services.workflows
        return await run_tool(uow, caller.principal, workflows, flow.workflow_id, params.arguments or {})


def _result(text: str, *, error: bool) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=error)
