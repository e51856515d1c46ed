"""What bots remember beyond a prompt: the summary of a section's turns that no longer fit, each user's
long-term variables per bot, and the sessions of a user with a bot."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plait.store.base import Base, Id, Timestamp, UpdatedAt, parent_fk, workspace_fk


class ConversationSummary(Base):
    """One per section: the turns up to ``last_message_id`` as the bot's model summarised them."""

    __tablename__ = "conversation_summaries"

    section_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    conversation_id: Mapped[str] = parent_fk("conversations.id")
    content: Mapped[str] = mapped_column(Text, default="")
    last_message_id: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (Index(None, "conversation_id"),)


class UserVariable(Base):
    """A bot variable's value for one user of a connector (Coze's ``connector_uid``)."""

    __tablename__ = "user_variables"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    bot_id: Mapped[str] = parent_fk("bots.id")
    connector_uid: Mapped[str] = mapped_column(String(255))
    keyword: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (UniqueConstraint("bot_id", "connector_uid", "keyword"),)


class UserSession(Base):
    """A user's run of chats with a bot: active while chats come, idle after a pause, deleted when it expires."""

    __tablename__ = "user_sessions"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    bot_id: Mapped[str] = parent_fk("bots.id")
    user_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="active")
    chat_count: Mapped[int] = mapped_column(Integer, default=0)
    last_conversation_id: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[Timestamp]
    last_active_at: Mapped[int] = mapped_column(BigInteger, index=True)

    __table_args__ = (
        UniqueConstraint("bot_id", "user_id"),
        CheckConstraint("status IN ('active', 'idle')", name="status"),
    )
