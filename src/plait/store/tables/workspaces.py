"""Tenancy and access: workspaces, users, memberships, API keys and provider model configs."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plait.store.base import Base, Id, Json, JsonList, Name, OptionalTimestamp, Timestamp, UpdatedAt, workspace_fk

ROLES = ("owner", "admin", "member", "viewer")
ROLE_CHECK = "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")"


class User(Base):
    __tablename__ = "users"

    id: Mapped[Id]
    name: Mapped[Name] = mapped_column(unique=True)
    nick_name: Mapped[Name] = mapped_column(default="")
    avatar_url: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[Timestamp]


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[Id]
    name: Mapped[Name]
    description: Mapped[str] = mapped_column(Text, default="")
    icon_url: Mapped[str] = mapped_column(Text, default="")
    workspace_type: Mapped[str] = mapped_column(String(16), default="personal")
    owner_user_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (CheckConstraint("workspace_type IN ('personal', 'team')", name="workspace_type"),)


class WorkspaceMember(Base):
    __tablename__ = "workspace_members"

    workspace_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[Timestamp]

    __table_args__ = (CheckConstraint(ROLE_CHECK, name="role"),)


class ApiKey(Base):
    """A bearer token, kept only as its sha256 (looked up on every request) and a prefix people recognise."""

    __tablename__ = "api_keys"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    user_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[Name]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[JsonList]
    created_at: Mapped[Timestamp]
    last_used_at: Mapped[OptionalTimestamp]
    expires_at: Mapped[OptionalTimestamp]
    revoked_at: Mapped[OptionalTimestamp]


class ModelConfig(Base):
    """A provider model a workspace can use; the provider key is AES-GCM encrypted (see `plait.store.crypto`)."""

    __tablename__ = "model_configs"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    name: Mapped[Name]
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[Name]
    encrypted_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    base_url: Mapped[str | None] = mapped_column(Text)
    options: Mapped[Json]
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
