"""What the provider adapters share: option checks, error mapping, Retry-After and retried streams.

Kept in one place so that an OpenAI-compatible server, Anthropic and Gemini fail, retry and report the
same way.
"""

from __future__ import annotations

import email.utils
import functools
import json
import ssl
from collections.abc import AsyncGenerator, Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from plait.models.errors import (
    BadRequestError,
    ModelConfigError,
    ProviderError,
    ProviderUnavailable,
    error_for_status,
)
from plait.models.retry import RetrySettings, with_retries

T = TypeVar("T")


def new_http_client(timeout: float, **options: Any) -> httpx.AsyncClient:
    """An httpx client sharing one TLS context: building one loads the CA bundle, ~50 ms per model made."""
    return httpx.AsyncClient(timeout=timeout, verify=_tls_context(), **options)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def check_options(model_id: str, options: Mapping[str, Any], accepted: Collection[str]) -> None:
    """Reject option names the adapter does not know, rather than silently dropping a typo."""
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise ModelConfigError(model_id, f"unknown option {names}; accepted options: {', '.join(sorted(accepted))}")


def pop_extra_body(model_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """Take ``extra_body`` out of the options: fields merged into the request as they are, for what a
    server accepts beyond the common options."""
    extra = options.pop("extra_body", None) or {}
    if not isinstance(extra, Mapping):
        raise ModelConfigError(model_id, "option 'extra_body' must be a mapping of request fields")
    return dict(extra)


def missing_extra(model_id: str, package: str, extra: str) -> ModelConfigError:
    return ModelConfigError(model_id, f"the {package!r} package is not installed: install plait[{extra}]")


def unsupported(model_id: str, what: str) -> BadRequestError:
    """A request the provider's format cannot express: failing here beats a vague 400 from the provider."""
    return BadRequestError(model_id, f"cannot send {what} to this provider")


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_details(body: object) -> tuple[str, str | None]:
    """The provider's own message and code from an error body, in the shapes providers use:
    ``{"error": {"message", "code"|"type"|"status"}}``, ``{"error": "..."}``, ``{"message"}``, ``{"detail"}``."""
    if isinstance(body, bytes | str):
        text = body.decode(errors="replace") if isinstance(body, bytes) else body
        try:
            body = json.loads(text)
        except ValueError:
            return text.strip()[:500], None
    if isinstance(body, list) and len(body) == 1:  # Gemini wraps stream errors in a list
        body = body[0]
    if not isinstance(body, dict):
        return (str(body)[:500] if body is not None else ""), None
    error = body.get("error") or body
    if isinstance(error, str):
        return error, None
    if not isinstance(error, dict):
        return str(error)[:500], None
    message = error.get("message") or body.get("message") or body.get("detail") or ""
    code = next((str(error[key]) for key in ("code", "type", "status") if isinstance(error.get(key), str)), None)
    return (message if isinstance(message, str) else json.dumps(message)), code


def status_error(model_id: str, status: int, headers: Mapping[str, str], body: object) -> ProviderError:
    """The typed error for an HTTP error answer, carrying the provider's message and Retry-After."""
    message, code = error_details(body)
    return error_for_status(
        model_id, status, message or "the provider gave no error message", code=code, retry_after=retry_after(headers)
    )


def unreachable(model_id: str, base_url: str, reason: str) -> ProviderUnavailable:
    return ProviderUnavailable(model_id, f"{base_url} is unreachable or stopped answering ({reason})")


def transport_error(model_id: str, base_url: str, error: httpx.TransportError, timeout: float) -> ProviderUnavailable:
    """Connection refused, DNS failure, timeout or a dropped connection, naming the URL to check."""
    if isinstance(error, httpx.TimeoutException):
        reason = f"no answer within {timeout:g}s: {type(error).__name__}"
    else:
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return unreachable(model_id, base_url, reason)


async def retried_stream(
    settings: RetrySettings, open_stream: Callable[[], AsyncGenerator[T, None]]
) -> AsyncGenerator[T, None]:
    """A provider stream, retried on retryable errors until its first chunk. After that a retry would repeat
    output the caller already has, so later errors propagate. Closing this closes the provider's stream."""

    async def first_chunk() -> tuple[AsyncGenerator[T, None], T] | None:
        stream = open_stream()
        async for chunk in stream:
            return stream, chunk
        return None

    started = await with_retries(settings, first_chunk)
    if started is None:
        return
    stream, chunk = started
    try:
        yield chunk
        async for chunk in stream:
            yield chunk
    finally:
        await stream.aclose()


def data_url(url: str) -> tuple[str, str] | None:
    """``(mime type, base64 data)`` of a base64 ``data:`` URL; None for any other URL."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    return header.removesuffix(";base64") or "application/octet-stream", data


def as_dict(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else empty: response parsing must never crash on a missing field."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_str(value: object) -> str:
    return value if isinstance(value, str) else ""
