"""The last-resort error envelope (an unexpected exception becomes 500 / 5000, logged with its log id) and the
secure headers around a stream."""

from __future__ import annotations

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from plait.server.middleware import LogIdMiddleware, SecureHeadersMiddleware


async def broken(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("boom")


async def test_unexpected_error_is_an_envelope(caplog: pytest.LogCaptureFixture) -> None:
    transport = httpx.ASGITransport(app=LogIdMiddleware(broken))
    async with httpx.AsyncClient(transport=transport, base_url="http://plait") as client:
        response = await client.get("/v1/anything")
    logid = response.headers["x-tt-logid"]
    assert response.status_code == 500
    assert response.json() == {"code": 5000, "msg": f"internal error (logid {logid})", "data": None}
    assert "boom" not in response.text
    assert logid in caplog.text and "RuntimeError: boom" in caplog.text


async def test_secure_headers_pass_a_stream_through_message_by_message() -> None:
    """Each body chunk goes out as it comes (SSE needs that), and headers the app set itself are kept."""

    async def sse(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream"), (b"Cache-Control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for chunk in (b"data: 1\n\n", b"data: 2\n\n"):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    await SecureHeadersMiddleware(sse, hsts=True)({"type": "http", "path": "/"}, receive, send)
    assert [message["type"] for message in sent] == ["http.response.start", *["http.response.body"] * 3]
    headers = dict(sent[0]["headers"])
    assert headers[b"Cache-Control"] == b"no-cache" and b"cache-control" not in headers
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"strict-transport-security"] == b"max-age=31536000"
