"""HTTP requests for tools: the guarded exchange every tool makes, and ``http_request_tool``, the built-in tool
that lets a model call any public web address.

A response is read up to a byte cap and then dropped (a model's context, and the server's memory, cannot take
an endless body); what was cut is said in ``truncated``. JSON is parsed when the content type says it is JSON.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import httpx

from plait.tools.errors import InvalidArguments, ToolTimeout
from plait.tools.function import FunctionTool
from plait.tools.net_guard import NetGuard, guarded_client, parse_url, read_limited

DEFAULT_MAX_BYTES = 256 * 1024
USER_AGENT = "plait-tools"
# What a model can use of a response's headers; the rest (cookies, server internals) is noise or leaks.
SELECTED_HEADERS = (
    "content-type",
    "content-length",
    "content-language",
    "location",
    "retry-after",
    "etag",
    "last-modified",
)
Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpLimits:
    """How long a call may take, all of it (resolving, redirects, the body), and how much of a body is read."""

    timeout: float = 30.0
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpResult:
    """What a tool returns of a response: JSON-able, so it can go back to the model as is."""

    status: int
    url: str
    headers: dict[str, str]
    body: Any
    truncated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def fetch(
    guard: NetGuard,
    limits: HttpLimits,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, Any] | None = None,
    content: bytes | None = None,
    secret_headers: Iterable[str] = (),
) -> HttpResult:
    """One guarded exchange within ``limits``."""
    try:
        async with asyncio.timeout(limits.timeout), guarded_client(limits.timeout) as client:
            target = parse_url(url).copy_merge_params(_query(query)) if query else url
            async with guard.open(
                client, method, target, headers=headers, content=content, secret_headers=secret_headers
            ) as response:
                data, truncated = await read_limited(response, limits.max_bytes)
                return HttpResult(
                    status=response.status_code,
                    url=str(response.url),
                    headers={k: response.headers[k] for k in SELECTED_HEADERS if k in response.headers},
                    body=_body(data, response, truncated),
                    truncated=truncated,
                )
    except TimeoutError as error:
        raise ToolTimeout(f"{method} {url}: no complete response within {limits.timeout:g}s") from error


def wire_text(value: Any) -> str:
    """A value as a URL or header carries it: booleans and null in JSON's spelling (``true``, not ``True``)."""
    return jsonlib.dumps(value) if isinstance(value, bool) or value is None else str(value)


def _query(query: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """Lists become repeated keys."""
    return {
        key: [wire_text(item) for item in value] if isinstance(value, list | tuple) else wire_text(value)
        for key, value in query.items()
    }


def _body(data: bytes, response: httpx.Response, truncated: bool) -> Any:
    text = data.decode(response.charset_encoding or "utf-8", errors="replace")
    media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if not truncated and (media_type == "application/json" or media_type.endswith("+json")):
        try:
            return jsonlib.loads(text)
        except ValueError:
            return text  # the service says JSON and sends something else: the model still sees it
    return text


def http_request_tool(
    *, guard: NetGuard | None = None, limits: HttpLimits | None = None, name: str = "http_request"
) -> FunctionTool:
    """The ``http_request`` tool: any method on any public URL (or what ``guard`` allows), within ``limits``."""
    guard = guard or NetGuard()
    limits = limits or HttpLimits()

    async def http_request(
        method: Method,
        url: str,
        headers: dict[str, str] | None = None,
        query: dict[str, str | int | float | bool | list[str]] | None = None,
        json: Any = None,
        text: str | None = None,
    ) -> dict[str, Any]:
        """Make an HTTP request to a public web address and return the status, main headers and body.

        Args:
            method: The HTTP method.
            url: An absolute http or https URL.
            headers: Request headers.
            query: Query parameters added to the URL.
            json: A JSON body (sent as application/json).
            text: A plain text body; give json or text, not both.
        """
        if json is not None and text is not None:
            raise InvalidArguments(name, [("json", "give json or text, not both")])
        sent = httpx.Headers({"user-agent": USER_AGENT, **(headers or {})})
        content: bytes | None = None
        if json is not None:
            content = jsonlib.dumps(json).encode()
            sent.setdefault("content-type", "application/json")
        elif text is not None:
            content = text.encode()
            sent.setdefault("content-type", "text/plain; charset=utf-8")
        result = await fetch(guard, limits, method, url, headers=sent, query=query, content=content)
        return result.as_dict()

    return FunctionTool(http_request, name=name)
