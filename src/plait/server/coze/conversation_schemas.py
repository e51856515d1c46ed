"""Wire schemas of the Coze conversation and message endpoints, as cozepy 0.20 sends and validates them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from plait.platform.conversations import ConversationRecord, NewMessage, SectionRecord

Role = Literal["user", "assistant"]
ContentType = Literal["text", "object_string", "card"]


class EnterMessage(BaseModel):
    """A message entered by the client; cozepy dumps its whole Message model, so extra fields are ignored."""

    role: Role
    type: str | None = None
    content: str = ""
    content_type: ContentType = "text"
    meta_data: dict[str, str] | None = None

    def new(self) -> NewMessage:
        return NewMessage(
            role=self.role,
            type=self.type or "",
            content=self.content,
            content_type=self.content_type,
            meta_data=self.meta_data or {},
        )


class CreateConversationRequest(BaseModel):
    bot_id: str | None = None
    messages: list[EnterMessage] = []
    meta_data: dict[str, str] | None = None
    name: str | None = Field(default=None, max_length=100)
    connector_id: str | None = None


class UpdateConversationRequest(BaseModel):
    name: str = Field(max_length=100)


class CreateMessageRequest(EnterMessage):
    content: str


class ListMessagesRequest(BaseModel):
    """cozepy sends every field, unset ones as null; null means the default."""

    order: Literal["desc", "asc"] | None = None
    chat_id: str | None = None
    before_id: str | None = None
    after_id: str | None = None
    limit: int | None = Field(default=None, ge=1, le=50)


class UpdateMessageRequest(BaseModel):
    content: str | None = None
    content_type: ContentType | None = None
    meta_data: dict[str, str] | None = None

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class FeedbackRequest(BaseModel):
    feedback_type: Literal["like", "unlike"]
    reason_types: list[str] | None = None
    comment: str | None = Field(default=None, max_length=1000)


def render_conversation(conversation: ConversationRecord) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "meta_data": conversation.meta_data,
        "last_section_id": conversation.last_section_id or "",
        "name": conversation.name,
        "creator_id": conversation.creator_id,
        "connector_id": conversation.connector_id,
    }


def render_section(section: SectionRecord) -> dict[str, Any]:
    return {"id": section.id, "conversation_id": section.conversation_id}
