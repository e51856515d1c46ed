"""A chat's typed records: its state as every face shows it, the messages it enters and produces, and what a
paused run needs to resume. Built from rows at the moment they are taken, so an event keeps the state it was
sent with however the chat moves on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from plait.schema import ToolCall, Usage
from plait.store.tables import Chat, Message

ChatStatus = Literal["created", "in_progress", "completed", "failed", "requires_action", "canceled"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "canceled"})
INTERNAL_ERROR = 5000


@dataclass(frozen=True, slots=True)
class ChatError:
    code: int
    msg: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChatError:
        return cls(code=int(data.get("code", INTERNAL_ERROR)), msg=str(data.get("msg", "")))


@dataclass(frozen=True, slots=True)
class ChatUsage:
    token_count: int = 0
    output_count: int = 0
    input_count: int = 0

    @classmethod
    def of(cls, usage: Usage) -> ChatUsage:
        total = usage.total_tokens or usage.prompt_tokens + usage.completion_tokens
        return cls(token_count=total, output_count=usage.completion_tokens, input_count=usage.prompt_tokens)

    def to_usage(self) -> Usage:
        return Usage(prompt_tokens=self.input_count, completion_tokens=self.output_count, total_tokens=self.token_count)

    def to_json(self) -> dict[str, int]:
        return {"token_count": self.token_count, "output_count": self.output_count, "input_count": self.input_count}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ChatUsage:
        data = data or {}
        return cls(int(data.get("token_count", 0)), int(data.get("output_count", 0)), int(data.get("input_count", 0)))


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingToolCalls:
    """A run paused for the client's tool outputs, and what its resumption needs besides the stored history.
    ``approvals`` are the ids of calls to the bot's own tools that wait for the caller's decision: their
    "output" is ``{"approved": true}`` to run them, anything else refuses them (and the model reads it)."""

    calls: tuple[ToolCall, ...]
    custom_variables: dict[str, str] = field(default_factory=dict)
    history_saved: bool = True  # False: the run kept no context to resume from
    approvals: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.calls],
            "custom_variables": self.custom_variables,
            "history_saved": self.history_saved,
            "approvals": list(self.approvals),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingToolCalls:
        calls = tuple(ToolCall(id=c["id"], name=c["name"], arguments=c["arguments"]) for c in data["tool_calls"])
        return cls(
            calls=calls,
            custom_variables=dict(data.get("custom_variables") or {}),
            history_saved=bool(data.get("history_saved", True)),
            approvals=tuple(data.get("approvals") or ()),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatState:
    id: str
    conversation_id: str
    bot_id: str
    section_id: str
    created_at: int
    meta_data: dict[str, str]
    status: ChatStatus
    usage: ChatUsage
    completed_at: int | None = None
    failed_at: int | None = None
    last_error: ChatError | None = None
    pending: PendingToolCalls | None = None

    @classmethod
    def of(cls, chat: Chat) -> ChatState:
        return cls(
            id=chat.id,
            conversation_id=chat.conversation_id,
            bot_id=chat.bot_id or "",
            section_id=chat.section_id or "",
            created_at=chat.created_at,
            meta_data=dict(chat.meta_data or {}),
            status=chat.status,  # type: ignore[arg-type]  # the column's check constraint holds it to ChatStatus
            usage=ChatUsage.from_json(chat.usage),
            completed_at=chat.completed_at,
            failed_at=chat.failed_at,
            last_error=ChatError.from_json(chat.last_error) if chat.last_error else None,
            pending=PendingToolCalls.from_json(chat.required_action) if chat.required_action else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRecord:
    id: str
    conversation_id: str
    bot_id: str
    chat_id: str
    section_id: str
    role: str
    type: str
    content: str
    content_type: str
    meta_data: dict[str, str]
    created_at: int
    updated_at: int
    reasoning_content: str = ""

    @classmethod
    def of(cls, message: Message) -> MessageRecord:
        return cls(
            id=message.id,
            conversation_id=message.conversation_id,
            bot_id=message.bot_id or "",
            chat_id=message.chat_id or "",
            section_id=message.section_id or "",
            role=message.role,
            type=message.type,
            content=message.content,
            content_type=message.content_type,
            meta_data=dict(message.meta_data or {}),
            created_at=message.created_at,
            updated_at=message.updated_at,
            reasoning_content=message.reasoning_content or "",
        )
