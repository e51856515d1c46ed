"""Chats and their run events in the Coze wire format: the objects ``chat`` endpoints return and the SSE
stream of ``/v3/chat`` (``event:`` and ``data:`` lines only, one-line JSON: what cozepy's strict parser takes)."""

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
from plait.server.tool_calls import tool_call_view

_CHAT_EVENTS: dict[type[Any], bytes] = {
    ChatCreated: b"conversation.chat.created",
    ChatInProgress: b"conversation.chat.in_progress",
    ChatCompleted: b"conversation.chat.completed",
    ChatFailed: b"conversation.chat.failed",
    ChatRequiresAction: b"conversation.chat.requires_action",
}


def chat_view(chat: ChatState) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": chat.id,
        "conversation_id": chat.conversation_id,
        "bot_id": chat.bot_id,
        "section_id": chat.section_id,
        "created_at": chat.created_at,
        "meta_data": chat.meta_data,
        "status": chat.status,
        "usage": chat.usage.to_json(),
    }
    if chat.completed_at is not None:
        view["completed_at"] = chat.completed_at
    if chat.failed_at is not None:
        view["failed_at"] = chat.failed_at
    if chat.last_error is not None:
        view["last_error"] = chat.last_error.to_json()
    if chat.pending is not None:
        calls = [tool_call_view(call) for call in chat.pending.calls]
        view["required_action"] = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": calls}}
    return view


def message_view(message: MessageRecord) -> dict[str, Any]:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "bot_id": message.bot_id,
        "chat_id": message.chat_id,
        "section_id": message.section_id,
        "role": message.role,
        "type": message.type,
        "content": message.content,
        "content_type": message.content_type,
        "meta_data": message.meta_data,
        "created_at": message.created_at,
        "updated_at": message.updated_at,
        "reasoning_content": message.reasoning_content,
    }


class SseEncoder:
    """One stream's encoder; it renders an answer's message once and reuses it for each of its deltas."""

    def __init__(self) -> None:
        self._answer: tuple[MessageRecord, dict[str, Any]] | None = None

    def encode(self, event: RunEvent) -> bytes:
        """One SSE event as UTF-8 bytes (what the response sends): orjson writes compact one-line JSON, non-ASCII
        characters as they are, several times faster than ``json.dumps`` on the per-delta path."""
        if isinstance(event, RunEnded):
            return b'event: done\ndata: "[DONE]"\n\n'
        if isinstance(event, MessageDelta):
            kind, data = b"conversation.message.delta", self._delta(event)
        elif isinstance(event, MessageCompleted):
            kind, data = b"conversation.message.completed", message_view(event.message)
        else:
            kind, data = _CHAT_EVENTS[type(event)], chat_view(event.chat)
        return b"event: " + kind + b"\ndata: " + orjson.dumps(data) + b"\n\n"

    def _delta(self, delta: MessageDelta) -> dict[str, Any]:
        if self._answer is None or self._answer[0] is not delta.message:
            self._answer = (delta.message, message_view(delta.message))
        return {**self._answer[1], "content": delta.text, "reasoning_content": delta.reasoning}
