"""The Coze error envelope ``{"code", "msg", "data": null}`` and the exception handlers that produce it, so
every failure a client sees (domain, validation, routing) has the shape cozepy turns into ``CozeAPIError``.

A server-side failure (5xx) is answered with a generic message naming the request's log id; what went wrong
goes to the log only, so no path, SQL or internal URL reaches a client. ``LogIdMiddleware`` does the same for
any other exception."""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Send

from plait.platform import PlatformError
from plait.platform.errors import Busy, DatabaseBusy

HTTP_CODES = {401: 4100, 403: 4101, 404: 4200, 413: 4001}
log = logging.getLogger("plait.server")


def ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "msg": "", "data": data}


def ok_response(data: Any) -> Response:
    """``ok(data)`` encoded once by orjson, for hot routes: FastAPI's own path (``jsonable_encoder``, then
    ``json.dumps``) cost 5% of a chat turn. ``data`` must be plain JSON values."""
    return Response(orjson.dumps(ok(data)), media_type="application/json")


def error_body(code: int, msg: str) -> bytes:
    return json.dumps({"code": code, "msg": msg, "data": None}).encode()


async def send_error(send: Send, status: int, code: int, msg: str) -> None:
    """Answer from ASGI middleware, where no Response object exists yet."""
    body = error_body(code, msg)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _error(status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "msg": msg, "data": None}, status_code=status, headers=headers)


def _internal(request: Request, exc: Exception, status: int) -> JSONResponse:
    logid = getattr(request.state, "logid", "")
    log.error("server error in %s %s (logid %s)", request.method, request.url.path, logid, exc_info=exc)
    return _error(status, 5000, f"internal error (logid {logid})")


async def _platform_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PlatformError)
    if exc.http_status == 500:  # a bug: its message may name internals; a 503 (Busy) says what to do
        return _internal(request, exc, exc.http_status)
    return _error(exc.http_status, exc.code, exc.msg, exc.headers())


async def _busy(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DatabaseBusy)
    return await _platform_error(request, Busy.of(exc))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """One line per problem, each naming the field path as the client wrote it (``model_info_config.model_id``)."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        if err["type"] == "json_invalid":
            problems.append(f"invalid JSON body: {err.get('ctx', {}).get('error', err['msg'])}")
            continue
        path = ".".join(str(part) for part in err["loc"][1:]) or str(err["loc"][0])
        problems.append(f"{path}: {err['msg']}")
    return _error(400, 4000, "; ".join(problems))


def allowed_methods(request: Request) -> list[str]:
    """The methods of the routes whose path matches the request's but not its method (so not a catch-all
    answering it); routes of exactly this path win over templates that also match (``/workflows/check`` over
    ``/workflows/{workflow_id}``). Starlette's own 405 names only the first route's: a path is often several."""
    matched = [
        route
        for route in iter_route_contexts(request.app.routes)
        if route.methods and request.method not in route.methods and route.matches(request.scope)[0] != Match.NONE
    ]
    exact = [route for route in matched if route.path == request.url.path]
    return sorted({method for route in exact or matched for method in route.methods or ()})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code >= 500:
        return _internal(request, exc, exc.status_code)
    if exc.status_code == 405:
        allowed = ", ".join(allowed_methods(request))
        return _error(405, 4000, f"{request.method} is not allowed here; allowed: {allowed}", {"Allow": allowed})
    msg = f"no route {request.method} {request.url.path}" if exc.status_code == 404 else str(exc.detail)
    return _error(exc.status_code, HTTP_CODES.get(exc.status_code, 4000), msg)


def install(app: FastAPI) -> None:
    app.add_exception_handler(PlatformError, _platform_error)
    app.add_exception_handler(DatabaseBusy, _busy)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
