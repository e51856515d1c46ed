"""Pure-ASGI middleware (``BaseHTTPMiddleware`` would buffer streams and break context variables): a log id on
every response, a body size limit, a last-resort envelope for unexpected errors, CORS and hardening headers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plait.observability.context import LOGID
from plait.server.envelope import send_error
from plait.settings import Settings

LOGID_HEADER = b"x-tt-logid"
log = logging.getLogger("plait.server")


class LogIdMiddleware:
    """Adds ``x-tt-logid`` (what cozepy reports as the log id) and answers unexpected errors with 5000.

    The id is put in ``scope["state"]["logid"]`` and the log context, so logs of the request name it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        logid = state["logid"] = state.get("logid") or uuid.uuid4().hex  # the trace id, while tracing is on
        LOGID.set(logid)  # each request runs in a task of its own: nothing to reset
        started = False

        async def send_with_logid(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), (LOGID_HEADER, logid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_logid)
        except Exception:
            log.exception("unexpected error in %s %s (logid %s)", scope["method"], scope["path"], logid)
            if started:  # the client already has a status line; closing the connection is all that is left
                raise
            await send_error(send_with_logid, 500, 5000, f"internal error (logid {logid})")


class BodyLimitMiddleware:
    """Rejects bodies over ``max_bytes`` with 413 / 4001 before the app parses them.

    A declared Content-Length is checked up front (the server enforces it); a chunked body is read up to the
    limit and replayed, so the app never sees a partial body. ``exempt`` paths (uploads) stream their bodies
    under their own, larger limit, which buffering here would defeat."""

    def __init__(self, app: ASGIApp, max_bytes: int, exempt: Collection[str] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_bytes:
                await self._reject(send)
                return
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._reject(send)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Send) -> None:
        await send_error(send, 413, 4001, f"request body is larger than {self.max_bytes} bytes")


class SecureHeadersMiddleware:
    """Hardening headers on every HTTP response, each only where the app did not set its own (an SSE stream
    keeps its ``Cache-Control``). ``hsts`` only behind HTTPS: browsers would refuse plain HTTP for a year."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cache-control", b"no-store"),  # responses carry workspace data: no proxy or browser keeps them
        ]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [header for header in self.headers if header[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_edge_middleware(app: FastAPI, settings: Settings) -> None:
    """CORS (only when ``cors_origins`` lists some) and secure headers, outside everything added before.

    CORS sits outside the log id middleware, so its 5000 envelopes stay readable to a browser; secure headers
    outermost, so preflight answers get them too. Tokens travel in a header, never cookies: no credentials."""
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["*"],  # the SDKs send their own (x-stainless-*, agw-js-conv) besides Authorization
            expose_headers=[LOGID_HEADER.decode()],
        )
    if settings.secure_headers:
        app.add_middleware(SecureHeadersMiddleware, hsts=settings.behind_https)
