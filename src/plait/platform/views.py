"""Messages and chats as the Coze objects every face shows (the Coze API as is; OpenAI and studio encoders
pick from them). Ids a record does not have yet are ""."""

from __future__ import annotations

from typing import Any

from plait.schema import ToolCall
from plait.store.models import Chat, Message


def message_view(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "bot_id": message.bot_id or "",
        "chat_id": message.chat_id or "",
        "section_id": message.section_id or "",
        "role": message.role,
        "type": message.type,
        "content": message.content,
        "content_type": message.content_type,
        "meta_data": message.meta_data,
        "created_at": message.created_at,
        "updated_at": message.updated_at,
        "reasoning_content": message.reasoning_content or "",
    }


def chat_view(chat: Chat) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": chat.id,
        "conversation_id": chat.conversation_id,
        "bot_id": chat.bot_id or "",
        "section_id": chat.section_id or "",
        "created_at": chat.created_at,
        "meta_data": chat.meta_data,
        "status": chat.status,
        "usage": chat.usage or {"token_count": 0, "output_count": 0, "input_count": 0},
    }
    if chat.completed_at is not None:
        view["completed_at"] = chat.completed_at
    if chat.failed_at is not None:
        view["failed_at"] = chat.failed_at
    if chat.last_error is not None:
        view["last_error"] = chat.last_error
    if chat.required_action is not None:  # keys with "_" are the runner's own (what a resumed run needs)
        view["required_action"] = {k: v for k, v in chat.required_action.items() if not k.startswith("_")}
    return view


def tool_call_view(call: ToolCall) -> dict[str, Any]:
    """A tool call as Coze's ``required_action`` and OpenAI's ``tool_calls`` both show it."""
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
