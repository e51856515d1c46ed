"""Chat completions in OpenAI's wire format, plain and as SSE chunks: one encoder for provider models and bots.

A completion's chunks repeat its id, created time and model (`Frame`); deltas come from model chunks
(`Message`) or from a bot run's events, and usage from `Usage` either way.
"""

from __future__ import annotations

import json
from typing import Any

from plait.schema import Message, Usage
from plait.server.tool_calls import tool_call_view

DONE = "data: [DONE]\n\n"


def usage_view(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens or usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def completion(completion_id: str, created: int, model: str, reply: Message) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or (None if reply.tool_calls else "")}
    if reply.tool_calls:
        message["tool_calls"] = [tool_call_view(call) for call in reply.tool_calls]
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": usage_view(reply.usage),
    }


def delta_of(chunk: Message) -> dict[str, Any]:
    """What a model chunk adds, as a ``delta`` (empty when it adds nothing)."""
    delta: dict[str, Any] = {}
    if chunk.text:
        delta["content"] = chunk.text
    if chunk.reasoning:
        delta["reasoning_content"] = chunk.reasoning
    if chunk.tool_calls:
        delta["tool_calls"] = [
            {
                "index": c.index if c.index is not None else i,
                **({"id": c.id, "type": "function"} if c.id else {}),
                "function": {**({"name": c.name} if c.name else {}), "arguments": c.arguments},
            }
            for i, c in enumerate(chunk.tool_calls)
        ]
    return delta


class Frame:
    """What every chunk of one completion repeats: id, created, model."""

    def __init__(self, completion_id: str, created: int, model: str) -> None:
        self.base = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> str:
        return self.event({**self.base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    def opening(self) -> str:
        return self.chunk({"role": "assistant", "content": ""})

    def usage(self, usage: Usage) -> str:
        return self.event({**self.base, "choices": [], "usage": usage_view(usage)})

    @staticmethod
    def event(data: dict[str, Any]) -> str:
        return f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"
