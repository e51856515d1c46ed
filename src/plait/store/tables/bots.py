"""Bots: a mutable draft (one JSON column per Coze config block) and immutable published versions."""

from __future__ import annotations

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plait.store.base import (
    Base,
    Id,
    Json,
    JsonList,
    Name,
    OptionalTimestamp,
    Timestamp,
    UpdatedAt,
    parent_fk,
    workspace_fk,
)


class Bot(Base):
    __tablename__ = "bots"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    owner_user_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[Name]
    description: Mapped[str] = mapped_column(Text, default="")
    icon_file_id: Mapped[str | None] = mapped_column(String(32))
    prompt: Mapped[Json]
    model_info: Mapped[Json]
    onboarding: Mapped[Json]
    knowledge: Mapped[Json]
    plugins: Mapped[JsonList]
    workflows: Mapped[JsonList]
    variables: Mapped[JsonList]
    tools: Mapped[JsonList]  # client-side function specs: the client runs them (chat status requires_action)
    approve_before: Mapped[JsonList]  # names of plugin tools whose calls wait for the caller's approval
    suggest_reply: Mapped[Json]
    published_version: Mapped[str | None] = mapped_column(String(32))  # the latest; None: never published
    published_at: Mapped[OptionalTimestamp]
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (Index(None, "workspace_id", "updated_at"),)


class BotVersion(Base):
    """What a published bot runs: a snapshot of the draft, never updated after insert."""

    __tablename__ = "bot_versions"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    bot_id: Mapped[str] = parent_fk("bots.id")
    version: Mapped[str] = mapped_column(String(32))
    snapshot: Mapped[Json]
    connector_ids: Mapped[JsonList]
    published_at: Mapped[Timestamp]

    __table_args__ = (UniqueConstraint("bot_id", "version"),)
