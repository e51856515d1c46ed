"""A tool call as both faces show it: Coze's ``required_action`` and OpenAI's ``tool_calls`` use one shape."""

from __future__ import annotations

from typing import Any

from plait.schema import ToolCall


def tool_call_view(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
