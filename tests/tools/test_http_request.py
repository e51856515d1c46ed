"""The built-in http_request tool against a real local server: what it sends, what it returns, the byte cap,
the timeout, and the guard on every call and redirect."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from tools_site import serve

from plait.tools.errors import BlockedAddress, InvalidArguments, ToolTimeout
from plait.tools.http_request import HttpLimits, http_request_tool
from plait.tools.net_guard import NetGuard

streamed = {"bytes": 0}


async def _echo(request: Request) -> Response:
    return JSONResponse(
        {
            "method": request.method,
            "query": sorted(request.query_params.multi_items()),
            "content_type": request.headers.get("content-type"),
            "user_agent": request.headers.get("user-agent"),
            "body": (await request.body()).decode(),
        },
        headers={"set-cookie": "session=1", "etag": '"v1"'},
    )


async def _endless(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        while True:
            streamed["bytes"] += 65536
            yield b"y" * 65536
            await asyncio.sleep(0)

    return StreamingResponse(chunks(), media_type="application/json")


async def _slow(request: Request) -> Response:
    await asyncio.sleep(3)
    return PlainTextResponse("late")


APP = Starlette(
    routes=[
        Route("/echo", _echo, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/text", lambda r: PlainTextResponse("héllo", headers={"content-type": "text/plain; charset=utf-8"})),
        Route("/fake-json", lambda r: Response(b"{not json", media_type="application/json")),
        Route("/missing", lambda r: JSONResponse({"error": "no such thing"}, status_code=404)),
        Route("/endless", _endless),
        Route("/slow", _slow),
        Route("/redirect", lambda r: RedirectResponse(r.query_params["to"], status_code=302)),
    ]
)


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve(APP) as url:
        yield url


GUARD = NetGuard(allowed_networks=["127.0.0.1/32"])
LOCAL = http_request_tool(guard=GUARD, limits=HttpLimits(timeout=5))


def test_the_spec_tells_the_model_the_arguments() -> None:
    spec = LOCAL.spec
    assert spec.name == "http_request"
    assert spec.parameters["required"] == ["method", "url"]
    assert set(spec.parameters["properties"]) == {"method", "url", "headers", "query", "json", "text"}
    assert "POST" in spec.parameters["properties"]["method"]["enum"]


async def test_get_with_query_returns_status_selected_headers_and_parsed_json(base: str) -> None:
    result = await LOCAL.call(
        {"method": "GET", "url": f"{base}/echo", "query": {"q": "a b", "exact": True, "tag": ["x", "y"], "n": 3}}
    )
    assert result["status"] == 200
    assert result["body"]["query"] == [["exact", "true"], ["n", "3"], ["q", "a b"], ["tag", "x"], ["tag", "y"]]
    assert result["body"]["user_agent"] == "plait-tools"
    assert result["headers"]["etag"] == '"v1"' and "set-cookie" not in result["headers"]
    assert result["truncated"] is False and result["url"].startswith(f"{base}/echo?")


async def test_json_and_text_bodies(base: str) -> None:
    sent = await LOCAL.call({"method": "POST", "url": f"{base}/echo", "json": {"a": [1, 2]}})
    assert (sent["body"]["content_type"], sent["body"]["body"]) == ("application/json", '{"a": [1, 2]}')
    text = await LOCAL.call(
        {"method": "PUT", "url": f"{base}/echo", "text": "plain", "headers": {"Content-Type": "text/csv"}}
    )
    assert (text["body"]["content_type"], text["body"]["body"]) == ("text/csv", "plain")
    with pytest.raises(InvalidArguments, match="give json or text, not both"):
        await LOCAL.call({"method": "POST", "url": f"{base}/echo", "json": {}, "text": "x"})


async def test_bodies_that_are_not_json_stay_text(base: str) -> None:
    assert (await LOCAL.call({"method": "GET", "url": f"{base}/text"}))["body"] == "héllo"
    assert (await LOCAL.call({"method": "GET", "url": f"{base}/fake-json"}))["body"] == "{not json"


async def test_an_error_status_is_a_result_the_model_reads(base: str) -> None:
    result = await LOCAL.call({"method": "GET", "url": f"{base}/missing"})
    assert (result["status"], result["body"]) == (404, {"error": "no such thing"})


async def test_a_huge_body_is_cut_at_the_cap_and_said_so(base: str) -> None:
    capped = http_request_tool(guard=GUARD, limits=HttpLimits(timeout=5, max_bytes=1000))
    streamed["bytes"] = 0
    result = await capped.call({"method": "GET", "url": f"{base}/endless"})
    assert (result["body"], result["truncated"]) == ("y" * 1000, True)  # cut JSON is not parsed
    await asyncio.sleep(0.3)
    sent = streamed["bytes"]
    await asyncio.sleep(0.3)
    assert streamed["bytes"] == sent, "the server is still streaming: the client did not hang up"


async def test_a_slow_server_is_a_typed_timeout(base: str) -> None:
    impatient = http_request_tool(guard=GUARD, limits=HttpLimits(timeout=0.3))
    started = time.monotonic()
    with pytest.raises(ToolTimeout, match="slow"):
        await impatient.call({"method": "GET", "url": f"{base}/slow"})
    assert time.monotonic() - started < 1.5


async def test_bad_arguments_are_refused_by_name(base: str) -> None:
    with pytest.raises(InvalidArguments) as caught:
        await LOCAL.call({"method": "TRACE", "url": f"{base}/echo", "headers": {"x": 1}})
    assert caught.value.fields == ["method", "headers.x"]


async def test_the_guard_refuses_loopback_by_default_and_blocked_redirects(base: str) -> None:
    with pytest.raises(BlockedAddress, match="loopback"):
        await http_request_tool().call({"method": "GET", "url": f"{base}/echo"})
    with pytest.raises(BlockedAddress, match=r"redirected to http://10\.0\.0\.1/admin\): refused"):
        await LOCAL.call({"method": "GET", "url": f"{base}/redirect?to=http://10.0.0.1/admin"})
