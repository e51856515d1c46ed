"""Web pages and files by URL, safe to expose to users: a knowledge base that fetches any URL it is given
is a server-side request forgery hole unless it refuses internal addresses.

Every hop (the first request and each redirect, followed by hand up to a cap) is checked: http or https only,
and every address the host resolves to must be public unless ``allow_private`` is set or the address is in
``allowed_networks``. The connection then goes to the address that was checked (Host header and TLS SNI
keep the name), so a DNS answer that changes between check and connect cannot reach an internal address.
The body is streamed and abandoned as soon as it passes ``max_bytes``; ``timeout`` bounds the whole load.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import PurePosixPath
from urllib.parse import unquote

import httpx

from plait.knowledge.errors import KnowledgeError, SourceNotAllowed
from plait.knowledge.loaders._common import DEFAULT_MAX_BYTES, Origin, ParseOptions, too_large
from plait.knowledge.loaders.files import EXTENSIONS, parse_document, sniff, unsupported
from plait.schema import Document

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits (RFC 6052): judged by that address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

MEDIA_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/json": "json",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
# Types that say little: the URL's extension (a raw .md served as text/plain) or the content decides.
_VAGUE = {"", "text/plain", "application/octet-stream", "binary/octet-stream", "application/x-download"}


class UrlLoader:
    """The ``Loader`` protocol for http(s) URLs; ``source`` in metadata is the URL asked for, ``url`` the
    one finally read after redirects."""

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = 30.0,
        allow_private: bool = False,
        allowed_networks: Iterable[str] = (),
        max_redirects: int = 5,
        options: ParseOptions | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.allow_private = allow_private
        self.allowed_networks = [ipaddress.ip_network(network) for network in allowed_networks]
        self.max_redirects = max_redirects
        self.options = options or ParseOptions()

    async def load(self, source: str) -> list[Document]:
        try:
            async with asyncio.timeout(self.timeout):
                data, url, media_type, charset = await self._fetch(source)
        except (TimeoutError, httpx.TimeoutException) as error:
            raise KnowledgeError(f"{source}: timed out after {self.timeout:g}s") from error
        except httpx.HTTPError as error:  # a malformed Location header is a RemoteProtocolError
            raise KnowledgeError(f"{source}: {type(error).__name__}: {error}") from error
        file_name = unquote(PurePosixPath(url.path).name) or url.host
        origin = Origin(
            source=source,
            file_name=file_name,
            file_type=self._file_type(source, media_type, file_name, data),
            charset=charset,
            extra={"url": str(url), "content_type": media_type},
        )
        return await asyncio.to_thread(parse_document, data, origin, self.options)

    def _file_type(self, source: str, media_type: str, file_name: str, data: bytes) -> str:
        if media_type in _VAGUE:  # an unknown extension (.php, .aspx) says nothing either
            by_name = EXTENSIONS.get(PurePosixPath(file_name).suffix.lower())
            return by_name or MEDIA_TYPES.get(media_type) or sniff(data) or "txt"
        if media_type in MEDIA_TYPES:
            return MEDIA_TYPES[media_type]
        if media_type.endswith("+json"):
            return "json"
        raise unsupported(source, f"content type {media_type!r}")

    async def _fetch(self, source: str) -> tuple[bytes, httpx.URL, str, str | None]:
        try:
            url = httpx.URL(source)
        except httpx.InvalidURL as error:
            raise KnowledgeError(f"{source}: not a valid URL ({error})") from error
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False, trust_env=False) as client:
            for hop in range(self.max_redirects + 1):
                addresses = await self._check(f"{source} (redirected to {url})" if hop else source, url)
                async with self._connect(client, source, url, addresses) as response:
                    if response.is_redirect:
                        url = url.join(response.headers["location"])
                        continue
                    if response.status_code >= 400:
                        raise KnowledgeError(f"{source}: HTTP {response.status_code} from {url}")
                    body = await self._read(source, response)
                    media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
                    return body, url, media_type, response.charset_encoding
        raise KnowledgeError(f"{source}: more than {self.max_redirects} redirects")

    async def _check(self, where: str, url: httpx.URL) -> list[IPAddress]:
        """The addresses ``url`` resolves to, all of them allowed, or SourceNotAllowed naming ``where``."""
        if url.scheme not in ("http", "https"):
            raise SourceNotAllowed(f"{where}: only http and https URLs can be loaded, not {url.scheme!r}")
        if not url.host:
            raise SourceNotAllowed(f"{where}: the URL has no host")
        port = url.port or (443 if url.scheme == "https" else 80)
        host = url.raw_host.decode("ascii")  # IDNA-encoded
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise KnowledgeError(f"{where}: cannot resolve {url.host}: {error}") from error
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
        for address in addresses:
            if not self._allowed(address):
                raise SourceNotAllowed(
                    f"{where}: {url.host} resolves to {address}, a private, loopback, link-local or multicast "
                    "address, or another that is not public; set allow_private or allowed_networks to load it"
                )
        return addresses

    def _allowed(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return is_public(address) or self.allow_private or any(address in n for n in self.allowed_networks)

    @asynccontextmanager
    async def _connect(
        self, client: httpx.AsyncClient, source: str, url: httpx.URL, addresses: list[IPAddress]
    ) -> AsyncIterator[httpx.Response]:
        """A streamed GET of ``url`` sent to the first checked address that accepts a connection."""
        headers = {"host": url.netloc.decode("ascii"), "user-agent": "plait-knowledge-loader"}
        extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
        failure: httpx.ConnectError | None = None
        for address in addresses:
            request = client.build_request(
                "GET", url.copy_with(host=str(address)), headers=headers, extensions=extensions
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.ConnectError as error:
                failure = error
                continue
            try:
                yield response
            finally:
                await response.aclose()
            return
        raise KnowledgeError(f"{source}: cannot connect to {url.host}: {failure}")

    async def _read(self, source: str, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_large(source, self.max_bytes, int(declared))
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > self.max_bytes:
                raise too_large(source, self.max_bytes)
            chunks.append(chunk)
        return b"".join(chunks)


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast, and so is any IPv4 address an IPv6 form carries (mapped, 6to4, NAT64): the
    standard flags alone pass fec0::/10 (deprecated site-local), multicast, and IPv6 forms that reach a private
    IPv4 address through a translator or relay. Reserved ranges are refused: ::/8 holds the IPv4-compatible
    ``::a.b.c.d`` and the local NAT64 prefix 64:ff9b:1::/48."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address in _NAT64:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and not is_public(address.sixtofour):
            return False
        if address.is_site_local:
            return False
    return address.is_global and not (address.is_multicast or address.is_reserved)
