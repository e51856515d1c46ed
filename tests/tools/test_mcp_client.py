"""MCP servers as tool sources, against a real MCP server process (mcp_echo_server.py) over stdio and over
streamable HTTP: listing, calling, error results, timeouts, and a server that dies mid-call or between calls."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from plait.agents import ReactAgent, ToolResult
from plait.models.scripted import ScriptedChatModel
from plait.schema import Message
from plait.tools.errors import ToolError, ToolTimeout
from plait.tools.mcp_client import HttpServer, McpServer, McpServerError, McpToolFailed, McpToolSource, StdioServer
from plait.tools.tool_names import PATTERN

ECHO_SERVER = str(Path(__file__).with_name("mcp_echo_server.py"))
STDIO = StdioServer(command=sys.executable, args=[ECHO_SERVER, "stdio"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class HttpEchoServer:
    """The echo server as a uvicorn process on 127.0.0.1; it can be stopped and started on the same port."""

    def __init__(self, log: Path) -> None:
        self.port = _free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> HttpServer:
        return HttpServer(url=f"http://127.0.0.1:{self.port}/mcp")

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, ECHO_SERVER, "http", str(self.port)], stderr=log)
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, self.log.read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "the HTTP MCP server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def http_echo(tmp_path: Path) -> Iterator[HttpEchoServer]:
    echo = HttpEchoServer(tmp_path / "server.log")
    echo.start()
    try:
        yield echo
    finally:
        echo.stop()


@pytest.fixture(params=["stdio", "http"])
async def source(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[McpToolSource]:
    server: McpServer = STDIO
    echo = None
    if request.param == "http":
        echo = HttpEchoServer(tmp_path / "server.log")
        echo.start()
        server = echo.server
    with (tmp_path / "stderr.log").open("w") as errlog:
        try:
            async with McpToolSource(server, call_timeout=5, errlog=errlog) as opened:
                yield opened
        finally:
            if echo is not None:
                echo.stop()


async def test_the_servers_tools_are_plait_tools(source: McpToolSource) -> None:
    tools = {tool.spec.name: tool for tool in await source.tools()}
    assert set(tools) >= {"add", "echo", "say_twice", "crash", "slow", "pid"}
    assert all(PATTERN.fullmatch(name) for name in tools)
    add = tools["add"].spec
    assert add.description == "Add two integers."
    assert add.parameters["type"] == "object" and add.parameters["required"] == ["a", "b"]
    assert add.parameters["properties"]["a"]["type"] == "integer"
    assert tools["say_twice"].remote_name == "say.twice"  # a dot is not a name models accept


async def test_calls_answer_with_the_servers_output(source: McpToolSource) -> None:
    tools = {tool.spec.name: tool for tool in await source.tools()}
    assert await tools["add"].call({"a": 2, "b": 40}) == "42"
    assert await tools["echo"].call({"text": "héllo"}) == "héllo"
    assert await tools["say_twice"].call({"text": "ab"}) == "abab"
    assert await tools["picture"].call({}) == "a red pixel\n[image image/png, 70 bytes]"


async def test_error_results_and_bad_arguments_raise_with_the_servers_message(source: McpToolSource) -> None:
    with pytest.raises(McpToolFailed, match=r"fail: .*the disk is full"):
        await source.call("fail", {"reason": "the disk is full"})
    with pytest.raises(McpToolFailed, match="validation error"):
        await source.call("add", {"a": "one"})
    with pytest.raises(McpToolFailed, match="Unknown tool: nothing"):
        await source.call("nothing", {})
    assert await source.call("add", {"a": 1, "b": 1}) == "2"  # the session is unharmed


async def test_a_call_that_overruns_its_timeout_fails_and_the_next_one_works(source: McpToolSource) -> None:
    source.call_timeout = 0.5
    started = time.monotonic()
    with pytest.raises(ToolTimeout, match=r"slow: the MCP server did not answer within 0\.5 s"):
        await source.call("slow", {"seconds": 30})
    assert time.monotonic() - started < 5
    source.call_timeout = 5
    assert await source.call("slow", {"seconds": 0}) == "slept 0.0"


async def test_a_stdio_server_that_dies_mid_call_is_an_error_then_is_started_again() -> None:
    async with McpToolSource(STDIO, call_timeout=10) as source:
        first = await source.call("pid", {})
        with pytest.raises(McpServerError, match=r"went away during the call.*the next call connects again"):
            await source.call("crash", {})
        second = await source.call("pid", {})
        assert second != first
        assert await source.call("add", {"a": 1, "b": 2}) == "3"


async def test_a_stdio_server_killed_between_calls_is_an_error_then_is_started_again() -> None:
    async with McpToolSource(STDIO, call_timeout=10) as source:
        first = int(await source.call("pid", {}))
        os.kill(first, signal.SIGKILL)
        await asyncio.sleep(0.2)  # the stdout pipe closes; the session notices
        with pytest.raises(McpServerError, match="went away"):
            await source.call("add", {"a": 1, "b": 2})
        assert await source.call("add", {"a": 1, "b": 2}) == "3"
        assert int(await source.call("pid", {})) != first
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)


async def test_an_http_server_that_dies_mid_call_is_an_error_until_it_is_back(http_echo: HttpEchoServer) -> None:
    async with McpToolSource(http_echo.server, call_timeout=10, connect_timeout=5) as source:
        with pytest.raises(McpServerError, match="went away during the call"):
            await source.call("crash", {})
        assert http_echo.process is not None and http_echo.process.wait(timeout=10) == 3
        with pytest.raises(McpServerError, match=r"cannot connect to the MCP server http://127\.0\.0\.1"):
            await source.call("add", {"a": 1, "b": 2})
        http_echo.start()
        assert await source.call("add", {"a": 1, "b": 2}) == "3"


async def test_servers_that_cannot_be_reached_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(McpServerError, match="cannot connect to the MCP server /nonexistent/mcp-server"):
        await McpToolSource(StdioServer(command="/nonexistent/mcp-server")).connect()
    port = _free_port()  # nothing listens there
    with pytest.raises(McpServerError, match="ConnectError"):
        await McpToolSource(HttpServer(url=f"http://127.0.0.1:{port}/mcp"), connect_timeout=5).connect()
    silent = StdioServer(command=sys.executable, args=["-c", "import time; time.sleep(60)"])
    started = time.monotonic()
    with pytest.raises(McpServerError, match="did not answer within 1 s"):
        await McpToolSource(silent, connect_timeout=1).connect()
    assert time.monotonic() - started < 15
    with pytest.raises(ValueError, match="positive"):
        McpToolSource(STDIO, call_timeout=0)


async def test_a_prefix_keeps_the_tools_of_two_servers_apart() -> None:
    async with (
        McpToolSource(STDIO, prefix="one_") as one,
        McpToolSource(STDIO, prefix="two_") as two,
    ):
        names = [tool.spec.name for tool in [*await one.tools(), *await two.tools()]]
        assert "one_add" in names and "two_add" in names and len(set(names)) == len(names)


async def test_an_agent_calls_mcp_tools_and_sees_a_dead_server_as_a_tool_error() -> None:
    async with McpToolSource(STDIO, call_timeout=10) as source:
        agent = ReactAgent(ScriptedChatModel.tool_runner(), tools=await source.tools())
        answered = [event async for event in agent.run([Message.user('call add {"a": 20, "b": 22}')])]
        results = [event for event in answered if isinstance(event, ToolResult)]
        assert [(result.output, result.error) for result in results] == [("42", False)]
        crashed = [event async for event in agent.run([Message.user("call crash {}")])]
        [result] = [event for event in crashed if isinstance(event, ToolResult)]
        assert result.error and "went away during the call" in result.output
        again = [event async for event in agent.run([Message.user('call echo {"text": "back"}')])]
        assert [event.output for event in again if isinstance(event, ToolResult)] == ["back"]


def test_mcp_errors_are_tool_errors() -> None:
    assert issubclass(McpServerError, ToolError) and issubclass(McpToolFailed, ToolError)
