"""Published bots as MCP tools: ``/mcp`` on a real server driven by the mcp SDK's streamable-HTTP client, and
``plait mcp serve`` driven by its stdio client, on SQLite and PostgreSQL: listing, asking a bot, failures as
error results, bad arguments, and the same keys, scopes and roles as the REST API."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from cozepy import Coze
from mcp import Client, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from server_harness import Running, run_cli

from plait.platform.bot_tools import MESSAGE_SCHEMA

PLAIT = str(Path(sys.executable).with_name("plait"))


@asynccontextmanager
async def mcp_http(server: Running, token: str | None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(f"{server.base_url}/mcp", http_client=http), cache=None) as client,
    ):
        yield client


def _workspace(server: Running, name: str, *options: str) -> tuple[str, Coze, str]:
    """A key of a workspace of its own (so its bots are the test's), an SDK client and the workspace id."""
    token = server.make_key("--workspace", name, *options)
    coze = server.coze(token)
    space_id = next(space.id for space in coze.workspaces.list().items if space.name == name)
    return token, coze, space_id


def _bot(coze: Coze, space_id: str, name: str, *, model: str = "scripted/echo", description: str = "") -> str:
    bot_id = coze.bots.create(
        space_id=space_id, name=name, description=description, model_info_config={"model_id": model}
    ).bot_id
    coze.bots.publish(bot_id=bot_id)
    return bot_id


async def _calls(server: Running, token: str, *calls: tuple[str, dict[str, Any]]) -> list[types.CallToolResult]:
    """Connect with ``token`` and make the calls in order (none: connecting is the test)."""
    async with mcp_http(server, token) as client:
        return [await client.call_tool(name, arguments) for name, arguments in calls]


def _raised(main: Coroutine[Any, Any, object]) -> MCPError:
    """The MCPError a session ended with (anyio's task groups may wrap it in exception groups)."""
    try:
        asyncio.run(main)
    except Exception as exc:
        error: BaseException = exc
        while isinstance(error, BaseExceptionGroup):
            error = error.exceptions[0]
        assert isinstance(error, MCPError), repr(exc)
        return error
    raise AssertionError("the session ended without an error")


def _text(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


def test_each_published_bot_is_a_tool_with_a_model_safe_unique_name(server: Running) -> None:
    token, coze, space_id = _workspace(server, "mcp tools")
    _bot(coze, space_id, "Travel Planner", description="Plans trips.")
    _bot(coze, space_id, "Travel Planner")
    unnamed = _bot(coze, space_id, "旅行")
    coze.bots.create(space_id=space_id, name="Draft only", model_info_config={"model_id": "scripted/echo"})

    async def listed() -> list[types.Tool]:
        async with mcp_http(server, token) as client:
            return (await client.list_tools()).tools

    tools = asyncio.run(listed())
    assert [tool.name for tool in tools] == ["Travel_Planner", "Travel_Planner_2", f"bot_{unnamed}"]
    first = tools[0]
    assert (first.title, first.description) == ("Travel Planner", "Ask the bot 'Travel Planner'. Plans trips.")
    assert all(tool.input_schema == MESSAGE_SCHEMA for tool in tools)


def test_a_tool_call_asks_the_bot_in_a_conversation_of_its_own(server: Running) -> None:
    token, coze, space_id = _workspace(server, "mcp ask")
    bot_id = _bot(coze, space_id, "Echo")
    result, again = asyncio.run(
        _calls(server, token, ("Echo", {"message": "hello from MCP"}), ("Echo", {"message": "and again"}))
    )
    assert (_text(result), result.is_error) == ("hello from MCP", False)
    assert _text(again) == "and again"
    conversations = coze.conversations.list(bot_id=bot_id).items
    assert len(conversations) == 2  # a tool call carries no history: each is a new conversation
    history = list(coze.conversations.messages.list(conversation_id=conversations[0].id, order="asc"))
    assert [(m.type, m.content) for m in history] in (
        [("question", "hello from MCP"), ("answer", "hello from MCP")],
        [("question", "and again"), ("answer", "and again")],
    )


def test_a_failed_chat_is_an_error_result_with_its_reason(server: Running) -> None:
    token, coze, space_id = _workspace(server, "mcp failures")
    _bot(coze, space_id, "Broken", model="openai/gpt-4o")
    [result] = asyncio.run(_calls(server, token, ("Broken", {"message": "hi"})))
    assert result.is_error
    assert "OPENAI_API_KEY" in _text(result)  # no key on this machine: the model cannot be built


def test_bad_arguments_and_unknown_tools_are_clear_mcp_errors(server: Running) -> None:
    token, coze, space_id = _workspace(server, "mcp arguments")
    _bot(coze, space_id, "Echo")
    cases = {
        "message: required: the text to ask the bot": {},
        "message: expected a string, got int": {"message": 5},
        "message: expected a string, got list": {"message": ["a"]},
        "message: must not be empty": {"message": "  "},
        "unexpected arguments: extra; a bot tool takes only 'message'": {"message": "x", "extra": 1},
    }
    results = asyncio.run(_calls(server, token, *(("Echo", arguments) for arguments in cases.values())))
    assert [(result.is_error, _text(result)) for result in results] == [(True, expected) for expected in cases]
    unknown = _raised(_calls(server, token, ("Nope", {"message": "x"})))
    assert (unknown.code, unknown.message) == (
        types.INVALID_PARAMS,
        "no published bot is served as tool 'Nope'; tools: Echo",
    )


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "missing API key: send Authorization: Bearer <key>"),
        ("Bearer pat_not_a_key", "the API key is unknown, revoked or expired"),
    ],
)
def test_no_key_or_a_bad_key_is_401_with_a_json_rpc_error(
    server: Running, authorization: str | None, message: str
) -> None:
    headers = {"accept": "application/json, text/event-stream"}
    if authorization is not None:
        headers["authorization"] = authorization
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    response = httpx.post(f"{server.base_url}/mcp", json=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["message"] == message
    assert response.json()["error"]["data"] == {"code": 4100}


def test_the_sdk_client_reads_why_it_was_refused(server: Running) -> None:
    assert _raised(_calls(server, "pat_not_a_key")).message == "the API key is unknown, revoked or expired"
    revoked = server.make_key("--name", "to revoke")
    key_id = next(line.split()[0] for line in run_cli(server.env, "keys", "list").splitlines() if "to revoke" in line)
    run_cli(server.env, "keys", "revoke", key_id)
    assert _raised(_calls(server, revoked)).message == "the API key is unknown, revoked or expired"


def test_keys_need_the_chat_scope_and_a_writer_role_to_ask(server: Running) -> None:
    _, coze, space_id = _workspace(server, "mcp roles")
    _bot(coze, space_id, "Echo")
    scoped = server.make_key("--workspace", "mcp roles", "--scope", "bots")
    assert _raised(_calls(server, scoped)).message == "this API key lacks the 'chat' scope; it has: bots"
    viewer = server.make_key("--workspace", "mcp roles", "--user", "vera-mcp", "--role", "viewer")

    async def as_viewer() -> tuple[list[types.Tool], types.CallToolResult]:
        async with mcp_http(server, viewer) as client:
            return (await client.list_tools()).tools, await client.call_tool("Echo", {"message": "hi"})

    tools, result = asyncio.run(as_viewer())
    assert [tool.name for tool in tools] == ["Echo"]  # reading is allowed
    assert (result.is_error, _text(result)) == (True, "role 'viewer' cannot change anything in this workspace")


@asynccontextmanager
async def mcp_stdio(server: Running, token: str, errlog: Path) -> AsyncIterator[Client]:
    parameters = StdioServerParameters(command=PLAIT, args=["mcp", "serve"], env={**server.env, "PLAIT_API_KEY": token})
    with errlog.open("w") as log:
        async with Client(stdio_client(parameters, errlog=log), cache=None) as client:
            yield client


def test_plait_mcp_serve_serves_the_keys_bots_over_stdio(server: Running, tmp_path: Path) -> None:
    token, coze, space_id = _workspace(server, "mcp stdio")
    _bot(coze, space_id, "Stdio Echo", description="Says it back.")
    _bot(coze, space_id, "Broken", model="openai/gpt-4o")

    async def session() -> tuple[list[types.Tool], list[types.CallToolResult]]:
        async with mcp_stdio(server, token, tmp_path / "stderr.log") as client:
            calls = [
                ("Stdio_Echo", {"message": "over stdio"}),
                ("Broken", {"message": "hi"}),
                ("Stdio_Echo", {"message": 1}),
            ]
            return (await client.list_tools()).tools, [await client.call_tool(name, args) for name, args in calls]

    tools, (answer, failed, bad) = asyncio.run(session())
    assert [(tool.name, tool.description) for tool in tools] == [
        ("Stdio_Echo", "Ask the bot 'Stdio Echo'. Says it back."),
        ("Broken", "Ask the bot 'Broken'."),
    ]
    assert (answer.is_error, _text(answer)) == (False, "over stdio")
    assert failed.is_error and "OPENAI_API_KEY" in _text(failed)
    assert (bad.is_error, _text(bad)) == (True, "message: expected a string, got int")


def test_plait_mcp_serve_with_a_bad_key_says_why_and_exits(server: Running, tmp_path: Path) -> None:
    errlog = tmp_path / "stderr.log"

    async def connect() -> None:
        async with mcp_stdio(server, "pat_not_a_key", errlog):
            pass

    assert _raised(connect()).message == "Connection closed"
    assert "error: the API key is unknown, revoked or expired" in errlog.read_text()
