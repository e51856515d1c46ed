"""The audit log's rows: appended by the use cases, read newest first by workspace admins and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from plait.store.repositories.base import Page, paged
from plait.store.tables import AuditEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditQuery:
    """Which events: of one workspace (``workspace_id``; None for the instance-wide ones) unless
    ``all_workspaces``; an action prefix (``api_key`` or ``api_key.`` matches ``api_key.create``); an actor's
    user or key id; ``since`` and ``until`` (unix seconds, both included)."""

    workspace_id: str | None = None
    all_workspaces: bool = False
    action_prefix: str | None = None
    actor: str | None = None
    since: int | None = None
    until: int | None = None


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, event: AuditEvent) -> None:
        """Written when the unit of work commits, with the action it records (no round trip before)."""
        self.session.add(event)

    async def page(self, query: AuditQuery, *, page_num: int = 1, page_size: int = 20) -> Page[AuditEvent]:
        """Newest first."""
        where: list[ColumnElement[bool]] = []
        if not query.all_workspaces:
            column = AuditEvent.workspace_id
            where.append(column.is_(None) if query.workspace_id is None else column == query.workspace_id)
        if query.action_prefix:
            action = query.action_prefix.rstrip(".")
            where.append(or_(AuditEvent.action == action, AuditEvent.action.startswith(action + ".", autoescape=True)))
        if query.actor:
            where.append(or_(AuditEvent.actor_user_id == query.actor, AuditEvent.actor_key_id == query.actor))
        if query.since is not None:
            where.append(AuditEvent.at >= query.since)
        if query.until is not None:
            where.append(AuditEvent.at <= query.until)
        statement = select(AuditEvent).where(*where).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        return await paged(self.session, statement, page_num, page_size)
