"""``/mcp``: the workspace's published bots as MCP tools over streamable HTTP.

The route checks the caller as every REST route does (a Bearer API key with the ``chat`` scope), then hands
the request to the SDK's transport. A refused caller gets 401 / 403 with a JSON-RPC error body, the shape MCP
clients read the reason from (the Coze envelope would reach them as "an error response"). Stateless, with
JSON answers: any worker of ``plait serve --workers N`` answers any request, as for the REST API, and no
session outlives its request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from mcp import types
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import Receive, Scope, Send

from plait.platform import PlatformError, Unauthorized
from plait.server.deps import Caller, Services, require_scope
from plait.server.mcp_tools import Context, McpCaller, bot_tools_server
from plait.tools.held_context import HeldContext

PATH = "/mcp"
_CALLER = "plait_mcp_caller"  # where the route leaves the checked caller, in the request's ASGI state


def _caller_of(ctx: Context) -> McpCaller:
    assert ctx.request is not None, "an HTTP request carries its Starlette request"
    caller: McpCaller = ctx.request.scope["state"][_CALLER]
    return caller


class _HandOver(Response):
    """What the route answers: the SDK's transport, for this request, with the caller it checked."""

    def __init__(self, sessions: StreamableHTTPSessionManager, caller: McpCaller) -> None:
        super().__init__()
        self._sessions = sessions
        self._caller = caller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})[_CALLER] = self._caller
        await self._sessions.handle_request(scope, receive, send)


class McpRoute(APIRoute):
    """A refused key (the dependencies raise before the route runs) answered as a JSON-RPC error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except PlatformError as exc:
                if exc.http_status >= 500:
                    raise
                return _refused(exc)

        return guarded


def _refused(exc: PlatformError) -> JSONResponse:
    error = {"code": types.INVALID_REQUEST, "message": exc.msg, "data": {"code": exc.code}}
    headers = {"www-authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": error}, status_code=exc.http_status, headers=headers)


class McpFace:
    """The route and the SDK's session manager, which runs for the app's lifetime (``running``)."""

    def __init__(self) -> None:
        self.sessions = StreamableHTTPSessionManager(bot_tools_server(_caller_of), stateless=True, json_response=True)
        self.router = APIRouter(dependencies=[require_scope("chat")], route_class=McpRoute)
        sessions = self.sessions

        @self.router.api_route(PATH, methods=["GET", "POST", "DELETE"], include_in_schema=False)
        async def mcp_endpoint(caller: Caller, services: Services) -> Response:
            return _HandOver(sessions, McpCaller(services, caller))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """In a task of its own: the manager is an anyio task group, and a lifespan may end in another task."""
        held = HeldContext(self.sessions.run(), name="mcp sessions")
        await held.open()
        try:
            yield
        finally:
            await held.close()
