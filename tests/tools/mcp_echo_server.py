"""A small real MCP server for the client tests, over stdio or streamable HTTP:

    python mcp_echo_server.py stdio
    python mcp_echo_server.py http PORT

``crash`` ends the process mid-call, as a server that dies would; ``pid`` says which process answers, so a
test sees a reconnection start a new one.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys

from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

server = MCPServer("echo")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return text


@server.tool(name="say.twice")
def say_twice(text: str) -> str:
    """A name with a dot, which model APIs refuse."""
    return text + text


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
async def slow(seconds: float) -> str:
    """Answer after a while."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def crash() -> str:
    """Die in the middle of the call."""
    os._exit(3)


@server.tool()
def fail(reason: str) -> str:
    """Raise, which the server reports as an error result."""
    raise ToolError(reason)


@server.tool(structured_output=False)
def picture() -> list[str | Image]:
    """Text and an image in one result."""
    return ["a red pixel", Image(data=PIXEL, format="png")]


def main() -> None:
    if sys.argv[1:] == ["stdio"]:
        server.run("stdio")
    elif len(sys.argv) == 3 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        sys.exit("usage: mcp_echo_server.py stdio | http PORT")


if __name__ == "__main__":
    main()
