"""``/openapi.json`` as the server really answers: every operation documents the error answers any route can
give (bad input 400, no or bad key 401, a role or scope short 403, not found 404, body too large 413, rate
limited 429) with the body it gets, the Coze envelope or, under ``/openai/v1``, OpenAI's error object; and a
route that may return a ``StreamingResponse`` documents its ``text/event-stream`` answer.

FastAPI documents 422 for bad input, which this server never sends (``envelope`` answers 400 / 4000), so that
entry goes. Kept in one place, so a new route is documented like the others without a line of its own."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute, iter_route_contexts

ERRORS = {
    400: "Bad input: a parameter or the body breaks a rule; the message names it.",
    401: "No API key, or one that is unknown, revoked or expired.",
    403: "The key's role or scopes do not allow this.",
    404: "No such resource in the key's workspace (or no such route).",
    413: "The request body is larger than the server accepts.",
    429: "Too many requests for the key or its workspace; Retry-After says when to retry.",
}
_COZE_ERROR = {
    "type": "object",
    "required": ["code", "msg"],
    "properties": {
        "code": {"type": "integer", "description": "Plait's error code, never 0 (docs/api.md lists them)"},
        "msg": {"type": "string"},
        "data": {"type": "null"},
    },
}
_OPENAI_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
_SSE_EVENT = {  # what a client reads from each event of the stream
    "type": "object",
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"}},
}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def install(app: FastAPI) -> None:
    build = app.openapi  # FastAPI's, which caches the schema until the routes change

    def openapi() -> dict[str, Any]:
        schema = with_errors(build())
        for path, method in _streaming(app):
            responses = schema["paths"][path][method]["responses"]
            content = responses.setdefault("200", {"description": "An SSE stream"}).setdefault("content", {})
            content["text/event-stream"] = {"schema": _SSE_EVENT}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def with_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Adds the error answers to every operation, in place; a second call changes nothing."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorEnvelope"] = _COZE_ERROR
    components["OpenAIError"] = _OPENAI_ERROR
    for path, item in schema.get("paths", {}).items():
        name = "OpenAIError" if path.startswith("/openai/") else "ErrorEnvelope"
        body = {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, description in ERRORS.items():
                responses.setdefault(str(status), {"description": description, "content": body})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _streaming(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(path, method) of the documented routes whose endpoint may return a ``StreamingResponse``."""
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema or route.endpoint is None:
            continue
        returns = inspect.signature(route.endpoint, eval_str=True).return_annotation
        kinds = (returns, *get_args(returns))
        if route.path and any(isinstance(kind, type) and issubclass(kind, StreamingResponse) for kind in kinds):
            for method in route.methods or ():
                yield route.path, method.lower()
