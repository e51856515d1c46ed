"""Plugins: a workspace's tool sources (an OpenAPI document, an MCP server) that bots name in their config."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plait.store.base import Base, Id, Json, JsonList, Name, Timestamp, UpdatedAt, workspace_fk

PLUGIN_KINDS = ("openapi", "mcp")  # built-in plugins have no row: every workspace has them


class Plugin(Base):
    """``source`` is what the tools come from (the document's text, or the MCP transport); ``auth`` its
    non-secret part (kind, header name...), the secret itself AES-GCM encrypted; ``operations`` the tools seen
    when it was last read (name and description), what bot configs are checked against. ``revision`` grows on
    every change, so a worker's cached tools of the plugin know they are stale."""

    __tablename__ = "plugins"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    name: Mapped[Name]
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[Json]
    auth: Mapped[Json]
    encrypted_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[Json]
    operations: Mapped[JsonList]
    revision: Mapped[int] = mapped_column(BigInteger, default=1)
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        CheckConstraint("kind IN ('openapi', 'mcp')", name="kind"),
    )
