"""Conversations with their sections (context resets), messages and chats (one bot run each)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plait.store.base import (
    Base,
    Id,
    Json,
    Name,
    OptionalJson,
    OptionalTimestamp,
    Timestamp,
    UpdatedAt,
    parent_fk,
    workspace_fk,
)

CHAT_STATUSES = ("created", "in_progress", "completed", "failed", "requires_action", "canceled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    bot_id: Mapped[str | None] = mapped_column(String(32))  # a conversation outlives a deleted bot
    creator_id: Mapped[str | None] = mapped_column(String(64))
    connector_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[Name] = mapped_column(default="")
    meta_data: Mapped[Json]
    last_section_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (Index(None, "bot_id", "created_at"),)


class Section(Base):
    __tablename__ = "sections"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    conversation_id: Mapped[str] = parent_fk("conversations.id")
    created_at: Mapped[Timestamp]

    __table_args__ = (Index(None, "conversation_id", "created_at"),)


class Chat(Base):
    __tablename__ = "chats"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    conversation_id: Mapped[str] = parent_fk("conversations.id")
    section_id: Mapped[str | None] = mapped_column(String(32))
    bot_id: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[str | None] = mapped_column(String(64))
    runner: Mapped[str | None] = mapped_column(String(32))  # the worker instance that runs (or ran) it
    status: Mapped[str] = mapped_column(String(16), default="created")
    meta_data: Mapped[Json]
    usage: Mapped[OptionalJson]
    last_error: Mapped[OptionalJson]
    required_action: Mapped[OptionalJson]
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]
    completed_at: Mapped[OptionalTimestamp]
    failed_at: Mapped[OptionalTimestamp]

    __table_args__ = (
        Index(None, "conversation_id", "created_at"),
        Index(None, "status", "runner"),  # the sweep for chats whose worker died
        CheckConstraint(_in("status", CHAT_STATUSES), name="status"),
    )


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    conversation_id: Mapped[str] = parent_fk("conversations.id")
    section_id: Mapped[str | None] = mapped_column(String(32))
    chat_id: Mapped[str | None] = mapped_column(String(32), index=True)  # dies with the conversation, not the chat
    bot_id: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(16), default="question")
    content: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[str] = mapped_column(String(16), default="text")
    meta_data: Mapped[Json]
    reasoning_content: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[OptionalJson]
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (
        Index(None, "conversation_id", "created_at"),
        Index(None, "conversation_id", "id"),  # before_id / after_id cursors
        CheckConstraint("role IN ('user', 'assistant')", name="role"),
    )
