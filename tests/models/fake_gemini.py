"""Gemini's generateContent and streamGenerateContent (``alt=sse``) for the fake provider, as the
google-genai SDK calls them, with the checks Gemini itself makes."""

from __future__ import annotations

import base64
import json
from typing import Any

from provider_servers import API_KEY, Protocol, Rejected, Turn, pieces, require
from starlette.requests import Request

FIELDS = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings"}
GENERATION = {
    "temperature",
    "topP",
    "topK",
    "maxOutputTokens",
    "stopSequences",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseMimeType",
    "responseJsonSchema",
    "thinkingConfig",
}
PART_KINDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse")
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}


FREE_FORM = {"args", "response", "parametersJsonSchema", "responseJsonSchema"}  # user data, not API fields


def camel_case(value: Any) -> Any:
    """Gemini, like every protobuf JSON API, takes field names in snake_case or lowerCamelCase; the fake
    checks and records them in the camelCase form the API documents."""
    if isinstance(value, list):
        return [camel_case(item) for item in value]
    if not isinstance(value, dict):
        return value
    converted = {}
    for key, item in value.items():
        head, *rest = key.split("_")
        name = head + "".join(word.capitalize() for word in rest)
        converted[name] = item if name in FREE_FORM else camel_case(item)
    return converted


def signature(name: str) -> str:
    """The thought signature the fake attaches to a call of ``name`` and expects to get back with it."""
    return base64.b64encode(f"sig-{name}".encode()).decode()


def check(request: Request, body: dict[str, Any]) -> bool:
    if request.headers.get("x-goog-api-key") != API_KEY:
        raise Rejected("API key not valid. Please pass a valid API key.")
    model, _, method = request.path_params["target"].partition(":")
    require(request.path_params["version"] in ("v1", "v1beta") and model, f"unknown path {request.url.path}")
    require(method in ("generateContent", "streamGenerateContent"), f"unknown method {method!r}")
    stream: bool = method == "streamGenerateContent"
    if stream:
        require(request.query_params.get("alt") == "sse", "streamGenerateContent is served as SSE with alt=sse")
    unknown = sorted(set(body) - FIELDS)
    require(not unknown, f'Invalid JSON payload received. Unknown name "{unknown[0] if unknown else ""}"')
    unknown = sorted(set(body.get("generationConfig", {})) - GENERATION)
    require(not unknown, f"generationConfig: unknown field {unknown}")
    system = body.get("systemInstruction")
    if system is not None:
        require([set(part) for part in system.get("parts", [])] == [{"text"}], "systemInstruction: text parts only")
    _check_contents(body.get("contents"))
    names = set()
    for tool in body.get("tools", []):
        for declaration in tool.get("functionDeclarations", []):
            require(declaration.get("parametersJsonSchema", {}).get("type") == "object", f"bad tool {declaration}")
            names.add(declaration["name"])
    calling = body.get("toolConfig", {}).get("functionCallingConfig", {})
    require(calling.get("mode", "AUTO") in ("AUTO", "ANY", "NONE"), f"functionCallingConfig: invalid {calling}")
    require(set(calling.get("allowedFunctionNames", [])) <= names, f"functionCallingConfig: unknown names {calling}")
    return stream


def _check_contents(contents: object) -> None:
    require(isinstance(contents, list) and contents, "contents is not specified")
    assert isinstance(contents, list)
    open_calls: list[str] = []
    for i, content in enumerate(contents):
        role, parts = content.get("role"), content.get("parts", [])
        require(role in ("user", "model"), f"contents[{i}].role: Please use a valid role: user, model.")
        require(parts, f"contents[{i}].parts: must not be empty")
        for part in parts:
            kinds = [kind for kind in PART_KINDS if kind in part]
            require(len(kinds) == 1, f"contents[{i}]: a part holds exactly one kind of data: {part}")
            call = part.get("functionCall")
            if call is not None:
                require(role == "model" and isinstance(call.get("args", {}), dict), f"contents[{i}]: bad call {call}")
                require(part.get("thoughtSignature") == signature(call["name"]), f"contents[{i}]: call lacks signature")
        answered = [part["functionResponse"]["name"] for part in parts if "functionResponse" in part]
        require(
            sorted(answered) == sorted(open_calls),
            f"contents[{i}]: the number of function response parts must equal the function call parts "
            f"of the function call turn ({open_calls} called, {answered} answered)",
        )
        for part in parts:
            if "functionResponse" in part:
                require(isinstance(part["functionResponse"].get("response"), dict), "functionResponse.response: object")
        open_calls = [part["functionCall"]["name"] for part in parts if "functionCall" in part]


def _finish(turn: Turn) -> str:
    return turn.finish or "STOP"


def _usage(turn: Turn, thoughts: int) -> dict[str, Any]:
    usage = {
        "promptTokenCount": turn.prompt_tokens,
        "candidatesTokenCount": turn.completion_tokens,
        "totalTokenCount": turn.prompt_tokens + turn.completion_tokens + thoughts,
    }
    return {**usage, "thoughtsTokenCount": thoughts} if thoughts else usage


def _call_part(name: str, arguments: str) -> dict[str, Any]:
    return {"functionCall": {"name": name, "args": json.loads(arguments)}, "thoughtSignature": signature(name)}


def _response(parts: list[dict[str, Any]], body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
    if "finishReason" in extra:
        candidate["finishReason"] = extra.pop("finishReason")
    return {"candidates": [candidate], "modelVersion": "gemini-test-001", "responseId": "resp-fake", **extra}


def render(turn: Turn, body: dict[str, Any]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if turn.reasoning:
        parts.append({"text": turn.reasoning, "thought": True})
    if turn.text:
        parts.append({"text": turn.text})
    parts += [_call_part(c.name, c.arguments) for c in turn.calls]
    thoughts = 3 if turn.reasoning else 0
    return _response(parts, body, finishReason=_finish(turn), usageMetadata=_usage(turn, thoughts))


def events(turn: Turn, body: dict[str, Any]) -> list[str]:
    """Gemini streams whole parts: text in pieces, each function call complete in its chunk; the last
    chunk carries the finish reason and the full usage."""
    progress = {"promptTokenCount": turn.prompt_tokens, "totalTokenCount": turn.prompt_tokens}
    chunks = [[{"text": p, "thought": True}] for p in pieces(turn.reasoning, turn.piece)]
    chunks += [[{"text": p}] for p in pieces(turn.text, turn.piece)]
    chunks += [[_call_part(c.name, c.arguments)] for c in turn.calls]
    thoughts = 3 if turn.reasoning else 0
    responses = [_response(parts, body, usageMetadata=progress) for parts in chunks[:-1]]
    responses.append(
        _response(chunks[-1] if chunks else [], body, finishReason=_finish(turn), usageMetadata=_usage(turn, thoughts))
    )
    return [f"data: {json.dumps(response)}\r\n\r\n" for response in responses]


def error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": STATUS.get(status, "UNAVAILABLE")}}


GEMINI = Protocol("/gemini/{version}/models/{target}", check, render, events, error, camel_case)
