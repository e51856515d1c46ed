"""The SSRF guard against a real local server: which addresses pass, that the connection goes to the address
that was checked, and that every redirect is checked again and does not carry credentials to another origin."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from tools_site import serve

from plait.tools.errors import BlockedAddress, NetworkError, ToolTimeout, TooManyRedirects
from plait.tools.net_guard import NetGuard, blocked_reason, guarded_client, is_public, read_limited

LOCAL = NetGuard(allowed_networks=["127.0.0.1/32"])


async def _echo(request: Request) -> Response:
    return JSONResponse(
        {"method": request.method, "headers": dict(request.headers), "body": (await request.body()).decode()}
    )


async def _endless(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 65536
            await asyncio.sleep(0)

    return StreamingResponse(chunks(), media_type="text/plain")


async def _redirect(request: Request) -> Response:
    return RedirectResponse(request.query_params["to"], status_code=int(request.query_params.get("status", "302")))


async def _slow(request: Request) -> Response:
    await asyncio.sleep(3)
    return PlainTextResponse("late")


APP = Starlette(
    routes=[
        Route("/echo", _echo, methods=["GET", "POST", "PUT"]),
        Route("/endless", _endless),
        Route("/redirect", _redirect, methods=["GET", "POST", "PUT"]),
        Route("/loop", lambda r: RedirectResponse("/loop", status_code=307)),
        Route("/bad-location", lambda r: Response(status_code=302, headers={"location": "http://[::1"})),
        Route("/slow", _slow),
    ]
)


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve(APP) as url:
        yield url


async def _get(guard: NetGuard, url: str, **options: Any) -> tuple[httpx.Response, Any]:
    async with guarded_client(5) as client, guard.open(client, options.pop("method", "GET"), url, **options) as r:
        body, _ = await read_limited(r, 1 << 20)
        return r, httpx.Response(200, content=body).json() if r.status_code == 200 else body


REASONS = {
    "127.0.0.1": "a loopback address",
    "10.0.0.1": "a private address",
    "169.254.169.254": "a link-local address",
    "100.64.0.1": "a carrier-grade NAT address",
    "0.0.0.0": "the unspecified address",
    "224.0.0.1": "a multicast address",
    "240.0.0.1": "a reserved address",
    "192.0.2.1": "a private address",
    "::1": "a loopback address",
    "fe80::1": "a link-local address",
    "fec0::1": "a site-local address",
    "ff0e::1": "a multicast address",
    "::ffff:127.0.0.1": "IPv4-mapped of 127.0.0.1, a loopback address",
    "64:ff9b::a00:1": "NAT64 of 10.0.0.1, a private address",
    "2002:a9fe:a9fe::1": "6to4 of 169.254.169.254, a link-local address",
    "::127.0.0.1": "a reserved address",
}


@pytest.mark.parametrize("address", REASONS)
def test_each_refusal_says_why(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == REASONS[address]


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:1.1.1.1", "64:ff9b::808:808"])
def test_public_addresses_have_no_reason(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


@given(st.ip_addresses(v=4))
def test_every_ipv6_form_of_an_ipv4_address_gets_its_verdict(address: ipaddress.IPv4Address) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(address))
    assert is_public(mapped) == is_public(nat64) == is_public(address)
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80) | 1)
    if not is_public(address):
        assert not is_public(sixtofour)


async def test_check_takes_a_url_string_and_returns_the_addresses() -> None:
    assert await NetGuard(allowed_networks=["10.0.0.0/8"]).check("http://10.1.2.3:8080/x") == [
        ipaddress.ip_address("10.1.2.3")
    ]
    with pytest.raises(BlockedAddress, match=r"169\.254\.169\.254, which is a link-local address"):
        await NetGuard().check("http://169.254.169.254/latest")


def test_allowed_networks_and_internal_switch() -> None:
    loopback = ipaddress.ip_address("127.0.0.1")
    assert not NetGuard().allows(loopback)
    assert NetGuard(allow_internal=True).allows(loopback)
    assert LOCAL.allows(loopback) and LOCAL.allows(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert not LOCAL.allows(ipaddress.ip_address("127.0.0.2"))
    with pytest.raises(ValueError, match="allowed_networks: 'nonsense' is not a network"):
        NetGuard(allowed_networks=["nonsense"])


async def test_loopback_is_refused_by_default_before_any_request(base: str) -> None:
    with pytest.raises(BlockedAddress) as caught:
        await _get(NetGuard(), f"{base}/echo")
    error = caught.value
    assert (error.host, error.address, error.reason) == ("127.0.0.1", "127.0.0.1", "a loopback address")
    assert str(error) == f"{base}/echo: refused: 127.0.0.1 resolves to 127.0.0.1, which is a loopback address"


async def test_a_name_is_judged_by_every_address_it_resolves_to(base: str) -> None:
    port = base.rsplit(":", 1)[1]
    with pytest.raises(BlockedAddress, match=r"localhost resolves to (127\.0\.0\.1|::1), which is a loopback"):
        await _get(NetGuard(), f"http://localhost:{port}/echo")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/file", "only http and https URLs can be fetched, not 'ftp'"),
        ("file:///etc/passwd", "only http and https URLs can be fetched, not 'file'"),
        ("http:///no-host", "the URL has no host"),
    ],
)
async def test_other_schemes_and_hostless_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(BlockedAddress, match=message):
        await _get(NetGuard(allow_internal=True), url)


async def test_an_invalid_url_or_unknown_host_is_a_network_error() -> None:
    with pytest.raises(NetworkError, match="not a valid URL"):
        await _get(NetGuard(), "http://[::1")
    with pytest.raises(NetworkError, match=r"(cannot resolve|resolving) no-such-host\.invalid"):
        await _get(NetGuard(resolve_timeout=3), "http://no-such-host.invalid/")


async def test_the_connection_goes_to_the_checked_address_with_the_name_kept(
    base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rebind.test`` resolves once, to the test server; the request reaches it with its Host header intact,
    so nothing looked the name up again between the check and the connection."""
    port = int(base.rsplit(":", 1)[1])
    lookups: list[str] = []
    real = asyncio.get_running_loop().getaddrinfo

    async def fake(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        if host == "rebind.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return await real(host, *args, **kwargs)

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake)
    response, echoed = await _get(LOCAL, f"http://rebind.test:{port}/echo")
    assert echoed["headers"]["host"] == f"rebind.test:{port}"
    assert str(response.url) == f"http://rebind.test:{port}/echo"
    assert lookups == ["rebind.test"]


async def test_a_redirect_to_a_blocked_address_is_refused(base: str) -> None:
    for target in ["http://127.0.0.2/", "http://169.254.169.254/latest/meta-data", "ftp://127.0.0.1/"]:
        with pytest.raises(BlockedAddress, match=rf"\(redirected to {target}\): refused"):
            await _get(LOCAL, f"{base}/redirect?to={target}")


async def test_redirects_are_followed_and_capped(base: str) -> None:
    response, echoed = await _get(LOCAL, f"{base}/redirect?to=/echo")
    assert str(response.url) == f"{base}/echo" and echoed["method"] == "GET"
    with pytest.raises(TooManyRedirects, match=r"/loop: more than 2 redirects"):
        await _get(NetGuard(allowed_networks=["127.0.0.1/32"], max_redirects=2), f"{base}/loop")
    with pytest.raises(NetworkError, match=r"bad-location: .*Invalid"):
        await _get(LOCAL, f"{base}/bad-location")


@pytest.mark.parametrize(("status", "method", "body"), [(303, "GET", ""), (302, "GET", ""), (307, "POST", "data")])
async def test_redirect_methods_follow_the_status(base: str, status: int, method: str, body: str) -> None:
    _, echoed = await _get(LOCAL, f"{base}/redirect?to=/echo&status={status}", method="POST", content=b"data")
    assert (echoed["method"], echoed["body"]) == (method, body)


async def test_credentials_stay_with_their_origin(base: str) -> None:
    port = base.rsplit(":", 1)[1]
    guard = NetGuard(allowed_networks=["127.0.0.0/8", "::1/128"])
    secrets = {"authorization": "Bearer s3cret", "x-api-key": "k3y", "x-other": "kept"}
    _, same = await _get(guard, f"{base}/redirect?to=/echo", headers=secrets, secret_headers=["X-Api-Key"])
    assert {k: same["headers"].get(k) for k in secrets} == secrets
    other = f"http://localhost:{port}/echo"  # another host is another origin
    _, moved = await _get(guard, f"{base}/redirect?to={other}", headers=secrets, secret_headers=["X-Api-Key"])
    assert {k: moved["headers"].get(k) for k in secrets} == {
        "authorization": None,
        "x-api-key": None,
        "x-other": "kept",
    }


async def test_reading_stops_at_the_cap(base: str) -> None:
    async with guarded_client(5) as client, LOCAL.open(client, "GET", f"{base}/endless") as response:
        body, cut = await read_limited(response, 100_000)
    assert (len(body), cut) == (100_000, True)


async def test_a_read_timeout_is_typed(base: str) -> None:
    with pytest.raises(ToolTimeout, match="slow: timed out"):
        async with guarded_client(0.2) as client, LOCAL.open(client, "GET", f"{base}/slow") as response:
            await response.aread()


@pytest.mark.parametrize("first", ["plait.knowledge", "plait.tools"])
def test_the_tools_package_and_the_knowledge_engine_import_in_either_order(first: str) -> None:
    """The URL loader imports the guard and knowledge_search imports the engine: the package loads lazily."""
    other = "plait.tools" if first == "plait.knowledge" else "plait.knowledge"
    code = f"import {first}, {other}, plait.tools as t\nfor name in t.__all__: getattr(t, name)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
