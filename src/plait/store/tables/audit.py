"""The audit log: one row per admin action (a key made or revoked, a provider set, a bot published...), written
in the transaction of the action it records."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from plait.store.base import Base, Id, Json, Timestamp


class AuditEvent(Base):
    """``workspace_id`` is None for instance-wide actions (a secret-key rotation). No foreign keys: the log
    outlives what it names (a deleted plugin, a revoked key's user), and a deleted workspace's history stays.
    ``actor_key_id`` is the API key acted with, or ``cli`` (the ``plait`` command), ``local-owner`` (the studio
    on loopback) or ``system`` (the platform's own first start). ``detail`` never holds a secret."""

    __tablename__ = "audit_events"

    id: Mapped[Id]
    workspace_id: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[Timestamp]
    actor_user_id: Mapped[str | None] = mapped_column(String(32))
    actor_key_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[Json]

    __table_args__ = (Index("ix_audit_events_workspace_id_at", "workspace_id", "at"),)
