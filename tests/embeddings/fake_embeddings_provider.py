"""A small OpenAI-compatible embeddings server on 127.0.0.1, run by uvicorn in a thread. Each test queues the
answers it wants and reads back the requests the server received."""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Answer = Callable[[dict[str, Any]], Response]
FIELDS = {"model", "input", "encoding_format", "dimensions", "user"}


def rejection(body: Any) -> str | None:
    """What OpenAI would refuse in a request body, or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if unknown := sorted(set(body) - FIELDS):
        return f"Unrecognized request argument supplied: {', '.join(unknown)}"
    if not isinstance(body.get("model"), str):
        return "model: a string is required"
    texts = body.get("input")
    if not isinstance(texts, list) or not texts or not all(isinstance(text, str) for text in texts):
        return "input: a non-empty list of strings is required"
    if body.get("encoding_format", "float") not in ("float", "base64"):
        return "encoding_format: must be float or base64"
    return None


def vector_for(text: str) -> list[float]:
    """A deterministic 4-dimension vector that differs for each text, so order mistakes show."""
    return [float(len(text)), float(sum(map(ord, text)) % 997), 1.0, -1.0]


def embeddings(body: dict[str, Any]) -> Response:
    """The normal answer, with the items in reverse order: clients must sort them by ``index``."""
    data = [{"object": "embedding", "index": i, "embedding": vector_for(t)} for i, t in enumerate(body["input"])]
    return JSONResponse({"object": "list", "model": body["model"], "data": data[::-1], "usage": {"total_tokens": 1}})


@dataclass
class Received:
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeProvider:
    base_url: str = ""
    answers: deque[Answer] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)

    def reset(self) -> None:
        self.answers.clear()
        self.received.clear()

    async def handle(self, request: Request) -> Response:
        body = await request.json()
        self.received.append(Received(body, dict(request.headers)))
        if (problem := rejection(body)) is not None:
            return JSONResponse({"error": {"message": problem, "type": "invalid_request_error"}}, status_code=400)
        answer = self.answers.popleft() if self.answers else embeddings
        return answer(body)


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_provider() -> Iterator[FakeProvider]:
    provider = FakeProvider()
    app = Starlette(routes=[Route("/v1/embeddings", provider.handle, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    provider.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", http="h11"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the fake provider did not start"
        time.sleep(0.01)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
