"""``plait mcp serve``: the published bots of an API key's workspace as MCP tools over stdio, for desktop MCP
clients that start their servers as commands. It opens the data dir and database ``plait serve`` uses (the
same settings), runs the bots' chats itself, and holds a worker slot while it runs, like a server worker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from plait.cli.server import DataDir, settings_or_exit
from plait.platform import PlatformError, Unauthorized, access
from plait.settings import Settings

mcp_app = typer.Typer(help="Serve Plait's bots to MCP clients.", no_args_is_help=True)


@mcp_app.command("serve")
def serve(
    api_key: str = typer.Option(
        ...,
        "--api-key",
        envvar="PLAIT_API_KEY",
        help="An API key (plait keys create): its workspace's published bots are served, with its rights.",
        show_default=False,
    ),
    data_dir: Path | None = DataDir,
) -> None:
    """Serve the published bots as MCP tools over stdin and stdout (one tool per bot)."""
    settings = settings_or_exit(data_dir)
    try:
        asyncio.run(_serve(settings, api_key.strip()))
    except PlatformError as exc:
        typer.echo(f"error: {exc.msg}", err=True)
        raise typer.Exit(1) from None


async def _serve(settings: Settings, token: str) -> None:
    # Imported here, not at load: every other plait command would pay for the MCP SDK and the database.
    from mcp.server.stdio import stdio_server

    from plait.platform.services import Services
    from plait.server.mcp_tools import McpCaller, bot_tools_server

    services = await Services.open(settings)
    try:
        async with services.unit_of_work() as uow:
            principal = await access.authenticate(uow, token) if token else None
        if principal is None:
            raise Unauthorized("missing API key: pass --api-key or set PLAIT_API_KEY")
        principal.require_scope("chat")
        caller = McpCaller(services, principal)
        server = bot_tools_server(lambda _ctx: caller)
        async with stdio_server() as (read, write):  # from here on, stray output goes to stderr
            await server.run(read, write, server.create_initialization_options())
    finally:
        await services.aclose()
