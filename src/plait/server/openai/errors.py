"""OpenAI's error shape ``{"error": {"message", "type", "param", "code"}}`` for everything under ``/openai/v1``.

The app-wide handlers render Coze envelopes, which the openai SDK cannot read; a route class that catches
errors inside its own routes gives this prefix its own shape without touching the rest of the app.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from plait.models.errors import (
    AuthenticationError,
    BadRequestError,
    ModelConfigError,
    ProviderError,
    RateLimitError,
    UnknownModelError,
)
from plait.platform import PlatformError
from plait.platform.errors import Busy, DatabaseBusy

log = logging.getLogger(__name__)

_PLATFORM_KINDS = {
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    503: ("server_error", "server_busy"),
}
# What a model or provider message may carry that is the server's business: its URLs (an internal gateway, a
# key in a query string) and file paths (the data dir, a GGUF file).
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_PATH = re.compile(r"(?<![\w.~/-])(?:~?/[\w.@+-]+(?:/[\w.@+-]*)+|[A-Za-z]:\\[^\s'\"<>]+)")
# The request's log id, set by OpenAIRoute: an SSE body that fails after its route returned still names it.
_logid: ContextVar[str] = ContextVar("openai_logid", default="")


class OpenAIError(Exception):
    """An error to send as it is: status, message and OpenAI's ``type``/``param``/``code``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.headers = headers
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def model_not_found(model: str, why: str) -> OpenAIError:
    why = public_text(why)
    return OpenAIError(404, f"The model {model!r} does not exist: {why}", param="model", code="model_not_found")


def _validation(exc: RequestValidationError) -> OpenAIError:
    """OpenAI names one offending parameter; the message lists every problem, each with its field path."""
    problems: list[str] = []
    params: list[str] = []
    for err in exc.errors():
        if err["type"] == "json_invalid":
            problems.append(f"invalid JSON body: {err.get('ctx', {}).get('error', err['msg'])}")
            continue
        path = ".".join(str(part) for part in err["loc"][1:]) or str(err["loc"][0])
        params.append(path)
        problems.append(f"{path}: {err['msg']}")
    return OpenAIError(400, "; ".join(problems), param=params[0] if params else None)


def public_text(text: str) -> str:
    """``text`` without the URLs and file paths in it, for messages that come from a model or its provider."""
    return _PATH.sub("<path>", _URL.sub("<url>", text))


def _logged() -> str:
    logid = _logid.get()
    return f" (logid {logid})" if logid else ""


def translate(exc: Exception) -> OpenAIError:
    """The OpenAI error for any exception a route raises. Only messages written for clients go out as they are;
    anything unexpected is logged with the request's log id and answered with a generic message naming it."""
    if isinstance(exc, OpenAIError):
        return exc
    if isinstance(exc, RequestValidationError):
        return _validation(exc)
    if isinstance(exc, DatabaseBusy):
        exc = Busy.of(exc)
    if isinstance(exc, PlatformError) and exc.http_status != 500:  # 500: a bug, whose message is not for clients
        kind, code = _PLATFORM_KINDS.get(exc.http_status, ("invalid_request_error", None))
        return OpenAIError(exc.http_status, exc.msg, type=kind, code=code, headers=exc.headers() or None)
    if isinstance(exc, UnknownModelError):
        return OpenAIError(404, public_text(str(exc)), param="model", code="model_not_found")
    if isinstance(exc, ModelConfigError):  # raised while calling: an option the provider does not take
        return OpenAIError(400, public_text(str(exc)))
    if isinstance(exc, ProviderError):
        return _provider(exc)
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return OpenAIError(exc.status_code, str(exc.detail))
    log.exception("unexpected error under /openai/v1%s", _logged(), exc_info=exc)
    return OpenAIError(500, f"internal server error{_logged()}", type="server_error")


def _provider(exc: ProviderError) -> OpenAIError:
    """The upstream provider failed: the client's request may be fine, so mostly 502/503, not the upstream 4xx.
    What the client can act on (its request is refused, too long, rate limited) keeps the provider's words,
    cleaned; the rest (credentials, outages, malformed answers) is the operator's, so it goes to the log."""
    if isinstance(exc, BadRequestError):
        return OpenAIError(400, public_text(str(exc)), code=exc.code)
    if isinstance(exc, RateLimitError):
        return OpenAIError(429, public_text(str(exc)), type="rate_limit_error", code=exc.code or "rate_limit_exceeded")
    log.warning("provider error under /openai/v1%s: %s", _logged(), exc)
    if isinstance(exc, AuthenticationError):
        message = f"{exc.model_id}: the provider refused this server's credentials{_logged()}"
        return OpenAIError(502, message, type="api_error", code="upstream_authentication_failed")
    message = f"{exc.model_id}: the provider failed or is unavailable{_logged()}"
    return OpenAIError(503 if exc.retryable else 502, message, type="api_error", code=exc.code)


class OpenAIRoute(APIRoute):
    """Routes whose failures (auth, validation, model, provider) come out in OpenAI's error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            _logid.set(str(getattr(request.state, "logid", "")))  # LogIdMiddleware's
            try:
                return await handler(request)
            except Exception as exc:
                return translate(exc).response()

        return guarded
