"""Web pages and files by URL, safe to expose to users: a knowledge base that fetches any URL it is given
is a server-side request forgery hole unless it refuses internal addresses.

Every hop (the first request and each redirect, followed by hand up to a cap) is checked: http or https only,
and every address the host resolves to must be public unless ``allow_private`` is set or the address is in
``allowed_networks``. The connection then goes to the address that was checked (Host header and TLS SNI
keep the name), so a DNS answer that changes between check and connect cannot reach an internal address: the
guard of ``plait.tools.net_guard``, which tools that fetch URLs share.
The body is streamed and abandoned as soon as it passes ``max_bytes``; ``timeout`` bounds the whole load.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import PurePosixPath
from urllib.parse import unquote

import httpx

from plait.knowledge.errors import KnowledgeError, SourceNotAllowed
from plait.knowledge.loaders._common import DEFAULT_MAX_BYTES, Origin, ParseOptions, too_large
from plait.knowledge.loaders.files import EXTENSIONS, parse_document, sniff, unsupported
from plait.schema import Document
from plait.tools.errors import BlockedAddress, NetworkError, ToolTimeout
from plait.tools.net_guard import NetGuard, guarded_client, read_limited

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
        self.guard = NetGuard(
            allow_internal=allow_private, allowed_networks=allowed_networks, max_redirects=max_redirects
        )
        self.options = options or ParseOptions()

    async def load(self, source: str) -> list[Document]:
        try:
            async with asyncio.timeout(self.timeout):
                data, url, media_type, charset = await self._fetch(source)
        except TimeoutError as error:
            raise KnowledgeError(f"{source}: timed out after {self.timeout:g}s") from error
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
        headers = {"user-agent": "plait-knowledge-loader"}
        try:
            async with (
                guarded_client(self.timeout) as client,
                self.guard.open(client, "GET", source, headers=headers) as response,
            ):
                if response.status_code >= 400:
                    raise KnowledgeError(f"{source}: HTTP {response.status_code} from {response.url}")
                body = await self._read(source, response)
                media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
                return body, response.url, media_type, response.charset_encoding
        except BlockedAddress as error:
            raise SourceNotAllowed(_refusal(error)) from error
        except ToolTimeout as error:
            raise KnowledgeError(f"{source}: timed out after {self.timeout:g}s") from error
        except NetworkError as error:
            raise KnowledgeError(str(error)) from error

    async def _read(self, source: str, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_large(source, self.max_bytes, int(declared))
        body, cut = await read_limited(response, self.max_bytes)
        if cut:
            raise too_large(source, self.max_bytes)
        return body


def _refusal(error: BlockedAddress) -> str:
    if error.address is None:  # the scheme, or no host
        return str(error)
    return (
        f"{error.where}: {error.host} resolves to {error.address}, a private, loopback, link-local or multicast "
        "address, or another that is not public; set allow_private or allowed_networks to load it"
    )
