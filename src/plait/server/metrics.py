"""``/metrics`` for Prometheus, and the middleware that counts HTTP requests by route template and status.

``/metrics`` answers loopback clients as they are (a scraper beside the server), anyone else only with an
API key of a workspace owner or admin: the labels name workspaces and models."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plait.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS, SSE_OPEN, multiprocess_registry
from plait.platform import Forbidden, Unauthorized
from plait.server.deps import Services
from plait.server.studio.auth import is_loopback

UNMATCHED = "<unmatched>"  # no route: the raw path would give every scanner's probe a series of its own
ADMIN_ROLES = frozenset({"owner", "admin"})
_EVENT_STREAM = b"text/event-stream"

router = APIRouter(include_in_schema=False)
_bearer = HTTPBearer(auto_error=False)


class HttpMetricsMiddleware:
    """Pure ASGI, outside the log id middleware so its 5000 answers count; counts a stream when it ends, and
    keeps ``plait_sse_streams_open`` while an event stream is open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        streaming = False

        async def send_observed(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"content-type":
                        if value.startswith(_EVENT_STREAM):
                            streaming = True
                            SSE_OPEN.inc()
                        break
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            if streaming:
                SSE_OPEN.dec()
            self._count(scope, status, time.perf_counter() - started)

    def _count(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or UNMATCHED
        key = (scope["method"], route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                HTTP_REQUESTS.labels(key[0], route, str(status)),
                HTTP_LATENCY.labels(key[0], route),
            )
        children[0].inc()
        children[1].observe(seconds)


async def _allowed(
    request: Request,
    services: Services,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if is_loopback(request.client.host if request.client else None):
        return
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise Unauthorized("metrics from another host need an admin's API key: send Authorization: Bearer <key>")
    async with services.unit_of_work() as uow:
        principal = await services.principals.authenticate(uow, token)
    if principal.role not in ADMIN_ROLES:
        raise Forbidden(f"role {principal.role!r} cannot read metrics; a workspace owner or admin can")


@router.get("/metrics", dependencies=[Depends(_allowed)])
async def metrics() -> Response:
    registry = multiprocess_registry() or REGISTRY
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
