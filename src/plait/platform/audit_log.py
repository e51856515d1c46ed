"""Reading the audit log (``platform.audit`` writes it): a workspace's owners and admins read their workspace's
events, newest first; the CLI, which reads the data dir, every event of the instance."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from plait.platform.access import Principal
from plait.platform.audit import ACTIONS
from plait.platform.errors import Forbidden, InvalidParams
from plait.platform.providers import ADMIN_ROLES
from plait.store import UnitOfWork
from plait.store.repositories import AuditQuery
from plait.store.tables import AuditEvent

MAX_PAGE_SIZE = 100
_PREFIX = re.compile(r"[a-z_]+(\.[a-z_]*)?")
_ACTOR = re.compile(r"[A-Za-z0-9_-]{1,64}")  # user and key ids are digits; cli, system, local-owner


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditFilter:
    """What a reader asks for: an action prefix (``api_key`` or ``api_key.create``), an actor (a user id, a
    key id, or ``cli``), and a window in unix seconds (both ends included)."""

    action: str | None = None
    actor: str | None = None
    since: int | None = None
    until: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRecord:
    id: str
    workspace_id: str | None
    at: int
    actor_user_id: str | None
    actor_key_id: str
    action: str
    target_type: str
    target_id: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: AuditEvent) -> EventRecord:
        return cls(**{field.name: getattr(row, field.name) for field in fields(cls)})


@dataclass(frozen=True, slots=True, kw_only=True)
class EventPage:
    items: list[EventRecord]
    total: int
    has_more: bool


def check_filter(found: AuditFilter) -> AuditFilter:
    """A filter that can match something; a typo in an action is an error listing the actions, not an empty
    page that looks like nothing happened."""
    action = found.action
    if action is not None and (
        not _PREFIX.fullmatch(action)
        or not any(name == action or name.startswith(action.rstrip(".") + ".") for name in ACTIONS)
    ):
        raise InvalidParams(f"action: {action!r} is no action or prefix of one; the actions: {', '.join(ACTIONS)}")
    if found.actor is not None and not _ACTOR.fullmatch(found.actor):
        raise InvalidParams("actor: a user id, a key id, cli, system or local-owner")
    for name, value in (("since", found.since), ("until", found.until)):
        if value is not None and not 0 <= value < 2**53:
            raise InvalidParams(f"{name}: unix seconds, 0 or more")
    if found.since is not None and found.until is not None and found.since > found.until:
        raise InvalidParams("since: after until")
    return found


async def workspace_events(
    uow: UnitOfWork, principal: Principal, found: AuditFilter, *, page_num: int = 1, page_size: int = 20
) -> EventPage:
    """The events of the principal's workspace; owners and admins only (the log names every key and member)."""
    if principal.role not in ADMIN_ROLES:
        raise Forbidden(f"role {principal.role!r} cannot read this workspace's audit log")
    return await _page(uow, _query(check_filter(found), workspace_id=principal.workspace_id), page_num, page_size)


async def instance_events(
    uow: UnitOfWork, found: AuditFilter, *, workspace_id: str | None = None, page_num: int = 1, page_size: int = 20
) -> EventPage:
    """For the CLI: every event of the instance (instance-wide ones included), or one workspace's."""
    query = _query(check_filter(found), workspace_id=workspace_id, all_workspaces=workspace_id is None)
    return await _page(uow, query, page_num, page_size)


def _query(found: AuditFilter, **where: Any) -> AuditQuery:
    return AuditQuery(action_prefix=found.action, actor=found.actor, since=found.since, until=found.until, **where)


async def _page(uow: UnitOfWork, query: AuditQuery, page_num: int, page_size: int) -> EventPage:
    if page_num < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidParams(f"page_num: 1 or more; page_size: 1 to {MAX_PAGE_SIZE}")
    page = await uow.audit.page(query, page_num=page_num, page_size=page_size)
    return EventPage(items=[EventRecord.of(row) for row in page.items], total=page.total, has_more=page.has_more)
