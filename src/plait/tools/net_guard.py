"""Outbound HTTP that cannot be turned against the network it runs in (server-side request forgery).

A tool or loader that fetches URLs a model or a user chose could otherwise reach the cloud metadata service,
the database on localhost or an admin panel on the private network. Every hop, the first request and each
redirect (followed by hand, up to a cap), is checked: http or https only, and every address the host resolves
to must be public unless ``allow_internal`` is set or the address is in ``allowed_networks``. The connection
then goes to the address that was checked (the Host header and TLS SNI keep the name), so a DNS answer that
changes between the check and the connection cannot reach an internal address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from plait.tools.errors import BlockedAddress, NetworkError, ToolTimeout, TooManyRedirects

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# NAT64's well-known prefix carries an IPv4 address in its last 32 bits (RFC 6052): judged by that address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# Headers that carry credentials: dropped when a redirect leaves the origin they were meant for.
_CREDENTIALS = frozenset({"authorization", "cookie", "proxy-authorization"})
_BODY_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding"})


def blocked_reason(address: IPAddress) -> str | None:
    """Why an address is not globally routable unicast, or None when it is.

    The standard flags alone pass fec0::/10 (deprecated site-local), multicast, and IPv6 forms that reach a
    private IPv4 address through a translator or relay, so every IPv4 address an IPv6 form carries (mapped,
    6to4, NAT64) is judged too. Reserved ranges are refused: ::/8 holds the IPv4-compatible ``::a.b.c.d`` and
    the local NAT64 prefix 64:ff9b:1::/48.
    """
    if isinstance(address, ipaddress.IPv6Address):
        carried = _carried_ipv4(address)
        if carried is not None:
            form, inner = carried
            why = blocked_reason(inner)
            if why is not None:
                return f"{form} of {inner}, {why}"
            if form != "6to4":  # a translated public address is that address; 2002::/16 itself is still judged
                return None
        if address.is_site_local:
            return "a site-local address"
    checks = [
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "a carrier-grade NAT address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    ]
    return next((why for flagged, why in checks if flagged), None)


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast, whatever IPv4 address an IPv6 form carries: see ``blocked_reason``."""
    return blocked_reason(address) is None


def _carried_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    return None


class NetGuard:
    """Which addresses outbound requests may reach, and how redirects are followed.

    ``allow_internal`` is for what an admin marked internal (a plugin of the company's own services): every
    address passes, schemes are still checked. ``allowed_networks`` opens the named networks only.
    """

    __slots__ = ("allow_internal", "allowed_networks", "max_redirects", "resolve_timeout")

    def __init__(
        self,
        *,
        allow_internal: bool = False,
        allowed_networks: Iterable[str | IPNetwork] = (),
        max_redirects: int = 5,
        resolve_timeout: float = 10.0,
    ) -> None:
        self.allow_internal = allow_internal
        self.allowed_networks = tuple(_network(network) for network in allowed_networks)
        self.max_redirects = max_redirects
        self.resolve_timeout = resolve_timeout

    def allows(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return self.allow_internal or is_public(address) or any(address in n for n in self.allowed_networks)

    async def check(self, url: str | httpx.URL, where: str | None = None) -> list[IPAddress]:
        """The addresses ``url`` resolves to, all of them allowed, or BlockedAddress naming ``where``."""
        url = parse_url(url)
        where = where or str(url)
        if url.scheme not in ("http", "https"):
            raise BlockedAddress(where, url.host, f"only http and https URLs can be fetched, not {url.scheme!r}")
        if not url.host:
            raise BlockedAddress(where, "", "the URL has no host")
        addresses = await self._resolve(url, where)
        for address in addresses:
            if not self.allows(address):
                reason = blocked_reason(address) or "not allowed"
                raise BlockedAddress(where, url.host, reason, str(address))
        return addresses

    async def _resolve(self, url: httpx.URL, where: str) -> list[IPAddress]:
        port = url.port or (443 if url.scheme == "https" else 80)
        host = url.raw_host.decode("ascii")  # IDNA-encoded
        try:
            async with asyncio.timeout(self.resolve_timeout):  # getaddrinfo runs in a worker thread
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise NetworkError(f"{where}: resolving {url.host} took over {self.resolve_timeout:g}s") from None
        except OSError as error:
            raise NetworkError(f"{where}: cannot resolve {url.host}: {error}") from error
        return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))

    @asynccontextmanager
    async def open(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str | httpx.URL,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        secret_headers: Iterable[str] = (),
    ) -> AsyncIterator[httpx.Response]:
        """A streamed response of ``url``, redirects followed and each hop checked; ``response.url`` is the
        last URL asked for (by name, not by address).

        ``client`` must not follow redirects or use proxies (``guarded_client``): both would go around the
        check. ``secret_headers`` (an API key header) are, like Authorization and Cookie, not sent on to
        another origin. httpx failures, here or while the body is read, become NetworkError or ToolTimeout.
        """
        first = parse_url(url)
        hop = Hop(method.upper(), first, dict(headers or {}), content)
        secrets = _CREDENTIALS | {name.lower() for name in secret_headers}
        try:
            for count in range(self.max_redirects + 1):
                where = f"{first} (redirected to {hop.url})" if count else str(first)
                addresses = await self.check(hop.url, where)
                response = await _send_pinned(client, hop, addresses, where)
                if not response.has_redirect_location:
                    try:
                        yield response
                    finally:
                        await response.aclose()
                    return
                await response.aclose()
                hop = hop.redirected(response, where, secrets)
        except httpx.TimeoutException as error:
            raise ToolTimeout(f"{first}: timed out ({type(error).__name__})") from error
        except httpx.HTTPError as error:  # a malformed Location header is a RemoteProtocolError
            raise NetworkError(f"{first}: {type(error).__name__}: {error}") from error
        raise TooManyRedirects(f"{first}: more than {self.max_redirects} redirects")


def guarded_client(timeout: float) -> httpx.AsyncClient:
    """A client for ``NetGuard.open``: no redirects of its own, no proxies from the environment."""
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)


@dataclass(slots=True)
class Hop:
    """One request of a redirect chain."""

    method: str
    url: httpx.URL
    headers: dict[str, str]
    content: bytes | None

    def redirected(self, response: httpx.Response, where: str, secrets: frozenset[str]) -> Hop:
        """The next request, as browsers make it: 303 (and 301/302 after a POST) become a GET without body."""
        try:
            url = self.url.join(response.headers["location"])
        except httpx.InvalidURL as error:
            raise NetworkError(f"{where}: invalid redirect location: {error}") from None
        method, content, headers = self.method, self.content, dict(self.headers)
        status = response.status_code
        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
            method, content = "GET", None
            headers = {k: v for k, v in headers.items() if k.lower() not in _BODY_HEADERS}
        if (url.scheme, url.host, url.port) != (self.url.scheme, self.url.host, self.url.port):
            headers = {k: v for k, v in headers.items() if k.lower() not in secrets}
        return Hop(method, url, headers, content)


def _network(network: str | IPNetwork) -> IPNetwork:
    try:
        return ipaddress.ip_network(network, strict=False)
    except ValueError as error:
        raise ValueError(f"allowed_networks: {str(network)!r} is not a network: {error}") from None


def parse_url(url: str | httpx.URL) -> httpx.URL:
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as error:
        raise NetworkError(f"{url}: not a valid URL ({error})") from None


async def _send_pinned(client: httpx.AsyncClient, hop: Hop, addresses: list[IPAddress], where: str) -> httpx.Response:
    """``hop`` sent to the first checked address that accepts a connection, the name kept for Host and SNI."""
    headers = {**hop.headers, "host": hop.url.netloc.decode("ascii")}
    extensions = {"sni_hostname": hop.url.raw_host.decode("ascii")} if hop.url.scheme == "https" else {}
    failure: httpx.ConnectError | None = None
    for address in addresses:
        pinned = hop.url.copy_with(host=str(address))
        request = client.build_request(hop.method, pinned, headers=headers, content=hop.content, extensions=extensions)
        try:
            response = await client.send(request, stream=True)
        except httpx.ConnectError as error:
            failure = error
            continue
        response.request = httpx.Request(hop.method, hop.url, headers=headers)
        return response
    raise NetworkError(f"{where}: cannot connect to {hop.url.host}: {failure}")


async def read_limited(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    """The body, at most ``max_bytes`` of it, and whether there was more: reading stops (and the connection
    is dropped) past the cap, so an endless or huge body costs no more than the cap."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        if total + len(chunk) > max_bytes:
            chunks.append(chunk[: max_bytes - total])
            return b"".join(chunks), True
        total += len(chunk)
        chunks.append(chunk)
    return b"".join(chunks), False
