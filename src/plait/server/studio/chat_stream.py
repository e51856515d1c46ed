"""A chat run's typed events as the playground reads them: SSE ``data:`` lines of small JSON objects, one
``event`` field each (chat, delta, message, done), so the page needs no Coze event names to render a turn."""

from __future__ import annotations

from typing import Any

import orjson

from plait.platform.chat.events import (
    ChatCompleted,
    ChatCreated,
    ChatFailed,
    ChatInProgress,
    ChatRequiresAction,
    MessageCompleted,
    MessageDelta,
    RunEnded,
    RunEvent,
)
from plait.platform.chat.records import ChatState, MessageRecord


def chat_fields(chat: ChatState) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "chat_id": chat.id,
        "conversation_id": chat.conversation_id,
        "status": chat.status,
        "usage": chat.usage.to_json(),
    }
    if chat.last_error is not None:
        fields["error"] = chat.last_error.to_json()
    if chat.pending is not None:
        approvals = set(chat.pending.approvals)  # the agent's own tools, waiting for a yes or no
        fields["tool_calls"] = [
            {"id": c.id, "name": c.name, "arguments": c.arguments, "approval": c.id in approvals}
            for c in chat.pending.calls
        ]
    return fields


def message_fields(message: MessageRecord) -> dict[str, Any]:
    return {
        "id": message.id,
        "role": message.role,
        "type": message.type,
        "content": message.content,
        "content_type": message.content_type,
    }


def event_fields(event: RunEvent) -> dict[str, Any]:
    if isinstance(event, MessageDelta):
        return {"event": "delta", "message_id": event.message.id, "text": event.text, "reasoning": event.reasoning}
    if isinstance(event, MessageCompleted):
        return {"event": "message", "message": message_fields(event.message)}
    if isinstance(event, ChatCreated | ChatInProgress | ChatCompleted | ChatFailed | ChatRequiresAction):
        return {"event": "chat", **chat_fields(event.chat)}
    assert isinstance(event, RunEnded)
    return {"event": "done"}


def encode(event: RunEvent) -> bytes:
    return b"data: " + orjson.dumps(event_fields(event)) + b"\n\n"
