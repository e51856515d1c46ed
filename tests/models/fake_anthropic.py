"""Anthropic's Messages API for the fake provider, with the checks Anthropic itself makes."""

from __future__ import annotations

import json
from typing import Any

from provider_servers import API_KEY, Protocol, Rejected, Turn, pieces, require
from starlette.requests import Request

FIELDS = {
    "model",
    "max_tokens",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "stream",
    "metadata",
    "thinking",
}
USER_BLOCKS = {"text", "image", "document", "tool_result"}
ASSISTANT_BLOCKS = {"text", "tool_use", "thinking", "redacted_thinking"}
SIGNATURE = "sig-fake"


def check(request: Request, body: dict[str, Any]) -> bool:
    # Older SDKs send the key as x-api-key, newer ones as a bearer token; Anthropic takes both.
    key = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
    if key != API_KEY:
        raise Rejected("invalid x-api-key", status=401)
    require(request.headers.get("anthropic-version"), "anthropic-version header is required")
    unknown = sorted(set(body) - FIELDS)
    require(not unknown, f"{unknown[0] if unknown else ''}: Extra inputs are not permitted")
    require(isinstance(body.get("max_tokens"), int) and body["max_tokens"] > 0, "max_tokens: Field required")
    system = body.get("system", "")
    require(isinstance(system, str) or all(block.get("type") == "text" for block in system), "system: text blocks only")
    _check_messages(body.get("messages"))
    names = {tool["name"] for tool in body.get("tools", [])}
    for tool in body.get("tools", []):
        require(tool.get("input_schema", {}).get("type") == "object", f"tools.{tool['name']}: input_schema: object")
    choice = body.get("tool_choice", {"type": "auto"})
    require(choice.get("type") in ("auto", "any", "tool", "none"), f"tool_choice: invalid {choice}")
    if choice["type"] == "tool":
        require(choice.get("name") in names, f"tool_choice names no declared tool: {choice}")
    return bool(body.get("stream"))


def _check_messages(messages: object) -> None:
    require(isinstance(messages, list) and messages, "messages: at least one message is required")
    assert isinstance(messages, list)
    require(messages[0].get("role") == "user", "messages: the first message must use the user role")
    open_calls: set[str] = set()
    for i, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        require(role in ("user", "assistant"), f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if i:
            require(role != messages[i - 1]["role"], f"messages.{i}: roles must alternate between user and assistant")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        final_assistant = role == "assistant" and i == len(messages) - 1
        require(blocks or final_assistant, f"messages.{i}: all messages must have non-empty content")
        for block in blocks:
            kind = block.get("type")
            require(kind in (USER_BLOCKS if role == "user" else ASSISTANT_BLOCKS), f"messages.{i}: bad block {kind}")
            if kind == "text":
                require(block.get("text"), f"messages.{i}: text content blocks must be non-empty")
            if kind == "thinking":
                require(block.get("signature"), f"messages.{i}: thinking blocks need their signature")
            if kind == "tool_use":
                require(isinstance(block.get("input"), dict), f"messages.{i}: tool_use.input must be an object")
        results = [block["tool_use_id"] for block in blocks if block.get("type") == "tool_result"]
        if open_calls:
            require(
                set(results) == open_calls,
                f"messages.{i}: tool_use ids {sorted(open_calls)} need tool_result blocks immediately after",
            )
            require(
                [block["type"] for block in blocks[: len(results)]] == ["tool_result"] * len(results),
                f"messages.{i}: tool_result blocks must come first",
            )
        else:
            require(not results, f"messages.{i}: tool_result answers no tool_use of the previous message")
        open_calls = {block["id"] for block in blocks if block.get("type") == "tool_use"}


def _stop_reason(turn: Turn) -> str:
    return turn.finish or ("tool_use" if turn.calls else "end_turn")


def _blocks(turn: Turn) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if turn.reasoning:
        blocks.append({"type": "thinking", "thinking": turn.reasoning, "signature": SIGNATURE})
    if turn.text:
        blocks.append({"type": "text", "text": turn.text})
    blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": json.loads(c.arguments)} for c in turn.calls]
    return blocks


def render(turn: Turn, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": _blocks(turn),
        "stop_reason": _stop_reason(turn),
        "stop_sequence": None,
        "usage": {"input_tokens": turn.prompt_tokens, "output_tokens": turn.completion_tokens},
    }


def events(turn: Turn, body: dict[str, Any]) -> list[str]:
    """Anthropic's event sequence: message_start, a start/deltas/stop run per content block, message_delta
    with the stop reason and output tokens, message_stop; pings in between."""
    start = {**render(turn, body), "content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": turn.prompt_tokens, "output_tokens": 1}
    sequence: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(_blocks(turn)):
        kind = block["type"]
        opening: dict[str, Any]
        if kind == "thinking":
            opening = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": p} for p in pieces(turn.reasoning, turn.piece)]
            deltas.append({"type": "signature_delta", "signature": SIGNATURE})
        elif kind == "text":
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in pieces(turn.text, turn.piece)]
        else:
            opening = {**block, "input": {}}
            arguments = json.dumps(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces(arguments, turn.piece)]
        sequence.append({"type": "content_block_start", "index": index, "content_block": opening})
        sequence += [{"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas]
        sequence.append({"type": "content_block_stop", "index": index})
    sequence.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": _stop_reason(turn), "stop_sequence": None},
            "usage": {"output_tokens": turn.completion_tokens},
        }
    )
    sequence.append({"type": "message_stop"})
    return [f"event: {event['type']}\ndata: {json.dumps(event)}\n\n" for event in sequence]


def error(status: int, message: str) -> dict[str, Any]:
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        429: "rate_limit_error",
        529: "overloaded_error",
    }.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


ANTHROPIC = Protocol("/anthropic/v1/messages", check, render, events, error)
