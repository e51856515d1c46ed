"""The last-resort error envelope: an unexpected exception becomes 500 / 5000, logged with its log id."""

from __future__ import annotations

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from plait.server.middleware import LogIdMiddleware


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
