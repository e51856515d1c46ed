"""A fake model provider on 127.0.0.1 that speaks OpenAI's, Anthropic's and Gemini's wire protocols.

Tests script what the model answers (a ``Turn``, a ``Failure`` or ``Raw`` bytes); the server answers each
request with the next scripted reply, as JSON or as that provider's event stream, and records every
request. It also checks that each request is well formed in the provider's own format and answers 400
with the reason when it is not, so a conversion mistake fails the test that made it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from plait.schema import Message

API_KEY = "test-key"


@dataclass
class Call:
    id: str
    name: str
    arguments: str  # the exact JSON text the model "wrote", possibly malformed


@dataclass
class Turn:
    """One scripted model answer, rendered in whichever protocol and mode the request asks for."""

    text: str = ""
    reasoning: str = ""
    calls: list[Call] = field(default_factory=list)
    finish: str | None = None  # the provider's own finish reason; derived from the content when None
    prompt_tokens: int = 11
    completion_tokens: int = 7
    reasoning_field: str = "reasoning_content"  # OpenAI-compatible servers use this or "reasoning"
    piece: int = 4  # characters per streamed text or argument piece
    delay: float = 0.0  # seconds between streamed events, or before a JSON answer


@dataclass
class Failure:
    status: int
    message: str = "scripted failure"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Raw:
    """An answer sent verbatim, for malformed streams and servers that ignore ``stream``."""

    body: str
    content_type: str = "text/event-stream"


Reply = Turn | Failure | Raw


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]
    at: float


class Rejected(Exception):
    """A request the real provider would refuse; the fake answers with this status and message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def require(condition: object, message: str) -> None:
    if not condition:
        raise Rejected(message)


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class Protocol:
    """How one provider is served: its route, its request checks, its answers and its error bodies."""

    path: str
    check: Callable[[Request, dict[str, Any]], bool]  # raises Rejected; returns whether to stream
    render: Callable[[Turn, dict[str, Any]], dict[str, Any]]
    events: Callable[[Turn, dict[str, Any]], list[str]]
    error: Callable[[int, str], dict[str, Any]]
    normalize: Callable[[dict[str, Any]], dict[str, Any]] = lambda body: body  # to the provider's canonical form


class FakeProvider:
    def __init__(self, protocols: list[Protocol]) -> None:
        self.url = ""
        self.script: deque[Reply] = deque()
        self.requests: list[Received] = []
        self.disconnected = threading.Event()
        self.protocols = protocols

    def reply(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def reset(self) -> None:
        self.script.clear()
        self.requests.clear()
        self.disconnected.clear()

    @property
    def last(self) -> dict[str, Any]:
        return self.requests[-1].body

    def app(self) -> Starlette:
        return Starlette(routes=[Route(p.path, self._endpoint(p), methods=["POST"]) for p in self.protocols])

    def _endpoint(self, protocol: Protocol) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await self._handle(protocol, request)

        return endpoint

    async def _handle(self, protocol: Protocol, request: Request) -> Response:
        body = protocol.normalize(json.loads(await request.body()))
        self.requests.append(
            Received(request.url.path, dict(request.query_params), dict(request.headers), body, time.monotonic())
        )
        try:
            stream = protocol.check(request, body)
        except Rejected as rejected:
            return JSONResponse(protocol.error(rejected.status, rejected.message), status_code=rejected.status)
        reply = self.script.popleft() if self.script else Failure(500, "the test scripted no reply for this request")
        if isinstance(reply, Failure):
            error = protocol.error(reply.status, reply.message)
            return JSONResponse(error, status_code=reply.status, headers=reply.headers)
        if isinstance(reply, Raw):
            return Response(reply.body, media_type=reply.content_type)
        if stream:
            return StreamingResponse(
                self._paced(protocol.events(reply, body), reply.delay), media_type="text/event-stream"
            )
        await asyncio.sleep(reply.delay)
        return JSONResponse(protocol.render(reply, body))

    async def _paced(self, events: list[str], delay: float) -> AsyncIterator[str]:
        """Send the events; a client that goes away mid-stream is noted in ``disconnected``."""
        sent = 0
        try:
            for event in events:
                if sent and delay:
                    await asyncio.sleep(delay)
                yield event
                sent += 1
        finally:
            if sent < len(events):
                self.disconnected.set()


@contextmanager
def serving(provider: FakeProvider) -> Iterator[FakeProvider]:
    """Run the fake on a free port in a background thread, and stop it cleanly afterwards."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(provider.app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fake-provider")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake provider server did not start")
        time.sleep(0.01)
    provider.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


async def streamed(chunks: AsyncIterator[Message]) -> list[Message]:
    return [chunk async for chunk in chunks]


def without_indexes(message: Message) -> Message:
    """A streamed message's tool calls keep the index their deltas were merged by; a generated one's have none."""
    return dataclasses.replace(message, tool_calls=[dataclasses.replace(c, index=None) for c in message.tool_calls])


def free_port_url() -> str:
    """A URL on which nothing listens: the port was free a moment ago and is closed again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"
