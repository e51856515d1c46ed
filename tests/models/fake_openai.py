"""OpenAI's chat completions protocol for the fake provider, with the checks OpenAI itself makes."""

from __future__ import annotations

import json
from typing import Any

from provider_servers import API_KEY, Protocol, Rejected, Turn, pieces, require
from starlette.requests import Request

FIELDS = {
    "model",
    "messages",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "seed",
    "response_format",
    "presence_penalty",
    "frequency_penalty",
    "user",
    "stream",
    "stream_options",
    "top_k",  # a server-specific field, as vLLM accepts, for extra_body
}
PART_TYPES = {"text": "text", "image_url": "image_url", "file": "file", "input_audio": "input_audio"}


def check(request: Request, body: dict[str, Any]) -> bool:
    if request.headers.get("authorization") != f"Bearer {API_KEY}":
        raise Rejected("Incorrect API key provided", status=401)
    unknown = sorted(set(body) - FIELDS)
    require(not unknown, f"Unrecognized request argument supplied: {', '.join(unknown)}")
    require(isinstance(body.get("model"), str), "model: a string is required")
    _check_messages(body.get("messages"))
    names = _check_tools(body)
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        require(choice.get("function", {}).get("name") in names, f"tool_choice names no declared tool: {choice}")
    else:
        require(choice in (None, "auto", "none", "required"), f"tool_choice: invalid value {choice!r}")
    response_format = body.get("response_format")
    if response_format is not None:
        kind = response_format.get("type")
        require(kind in ("text", "json_object", "json_schema"), f"response_format.type: invalid {kind!r}")
        if kind == "json_schema":
            schema = response_format.get("json_schema", {})
            require("name" in schema and "schema" in schema, "response_format.json_schema needs name and schema")
    stream = body.get("stream", False)
    require(isinstance(stream, bool), "stream must be a boolean")
    if "stream_options" in body:
        require(stream, "stream_options is only allowed when stream is true")
    return stream is True


def _check_messages(messages: object) -> None:
    require(isinstance(messages, list) and messages, "messages: a non-empty array is required")
    assert isinstance(messages, list)
    pending: set[str] = set()  # tool calls of the last assistant message, not yet answered
    for i, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            require(call_id in pending, f"messages[{i}]: tool_call_id {call_id!r} answers no preceding tool call")
            require(isinstance(message.get("content"), str), f"messages[{i}]: tool content must be a string")
            pending.discard(call_id)
            continue
        require(not pending, f"messages[{i}]: tool calls {sorted(pending)} were not answered by tool messages")
        content = message.get("content")
        if role in ("system", "user"):
            require(isinstance(content, str | list), f"messages[{i}]: content must be a string or an array")
            for part in content if isinstance(content, list) else []:
                kind = part.get("type")
                require(kind in PART_TYPES and PART_TYPES[kind] in part, f"messages[{i}]: invalid content part {part}")
        elif role == "assistant":
            calls = message.get("tool_calls", [])
            require(content is not None or calls, f"messages[{i}]: assistant needs content or tool_calls")
            for call in calls:
                function = call.get("function", {})
                require(call.get("type") == "function" and call.get("id"), f"messages[{i}]: invalid tool call {call}")
                require(isinstance(function.get("arguments"), str), f"messages[{i}]: arguments must be a string")
                pending.add(call["id"])
        else:
            raise Rejected(f"messages[{i}]: invalid role {role!r}")


def _check_tools(body: dict[str, Any]) -> set[str]:
    tools = body.get("tools")
    if tools is None:
        for option in ("tool_choice", "parallel_tool_calls"):
            require(option not in body, f"{option} is only allowed when tools are specified")
        return set()
    names = set()
    for tool in tools:
        function = tool.get("function", {})
        require(tool.get("type") == "function" and isinstance(function.get("name"), str), f"invalid tool {tool}")
        require(function.get("parameters", {}).get("type") == "object", f"tool {function['name']}: bad parameters")
        names.add(function["name"])
    return names


def _usage(turn: Turn) -> dict[str, Any]:
    return {
        "prompt_tokens": turn.prompt_tokens,
        "completion_tokens": turn.completion_tokens,
        "total_tokens": turn.prompt_tokens + turn.completion_tokens,
        "completion_tokens_details": {"reasoning_tokens": 3 if turn.reasoning else 0},
    }


def _finish(turn: Turn) -> str:
    return turn.finish or ("tool_calls" if turn.calls else "stop")


def render(turn: Turn, body: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if turn.reasoning:
        message[turn.reasoning_field] = turn.reasoning
    if turn.calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in turn.calls
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(turn)}],
        "usage": _usage(turn),
    }


def events(turn: Turn, body: dict[str, Any]) -> list[str]:
    """The chunk sequence OpenAI sends. Tool calls open one after another, then their argument pieces
    arrive interleaved, so only ``index`` tells which call a piece belongs to."""
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({turn.reasoning_field: piece}) for piece in pieces(turn.reasoning, turn.piece)]
    chunks += [chunk({"content": piece}) for piece in pieces(turn.text, turn.piece)]
    for index, call in enumerate(turn.calls):
        opening = {"index": index, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        chunks.append(chunk({"tool_calls": [opening]}))
    argument_pieces = [pieces(call.arguments, turn.piece) for call in turn.calls]
    for step in range(max(map(len, argument_pieces), default=0)):
        for index, split in enumerate(argument_pieces):
            if step < len(split):
                chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": split[step]}}]}))
    chunks.append(chunk({}, _finish(turn)))
    if body.get("stream_options", {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": _usage(turn)})
    return [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]


def error(status: int, message: str) -> dict[str, Any]:
    kind = "server_error" if status >= 500 else "rate_limit_exceeded" if status == 429 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


OPENAI = Protocol("/openai/v1/chat/completions", check, render, events, error)
