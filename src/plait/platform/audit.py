"""The audit log of admin actions: who made or revoked a key, set a provider, published a bot... The use case
that acts calls ``record`` in its own unit of work, so the row commits with the action or not at all: an
action never happens without its row. Reading the log is ``audit_log``.

``detail`` is a few plain facts (names, kinds, counts), never a secret: ``record`` refuses a detail key that
names one (``token``, ``secret``, ``api_key``...) and a value that is not a short scalar or a list of them, so a
careless call site fails its tests instead of writing a key into the log."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from plait.store import UnitOfWork
from plait.store.tables import AuditEvent

if TYPE_CHECKING:
    from plait.platform.access import Principal

log = logging.getLogger(__name__)

CLI = "cli"  # the actor key of the ``plait`` command (it needs no key: it reads the data dir)
SYSTEM = "system"  # the actor key of the platform itself: the first start's workspace and assistant
ACTIONS = {
    "api_key.create": "an API key was made (its name, scopes and user; never its token)",
    "api_key.revoke": "an API key was revoked",
    "member.add": "a user joined a workspace with a role (the studio's Members, or plait keys create --user)",
    "member.role": "a member's role changed (the new role and the one before)",
    "member.remove": "a member left a workspace (their keys of it were revoked: how many)",
    "workspace.create": "a workspace was made (the first start's, or by plait keys create --workspace)",
    "provider.set": "a model provider was added or changed (whether its key changed, never the key)",
    "provider.delete": "a model provider's settings were removed",
    "plugin.create": "a plugin was made (its kind, transport, auth kind and whether it is internal)",
    "plugin.update": "a plugin's description, auth or timeout changed (which of them, never the secret)",
    "plugin.delete": "a plugin was deleted",
    "bot.publish": "a bot's draft became a published version",
    "bot.unpublish": "a bot was taken offline",
    "workflow.publish": "a workflow's draft became a published version",
    "secrets.rotate": "the secret key that encrypts stored secrets was rotated (instance-wide)",
}
MAX_VALUE = 300
_SECRET_WORDS = re.compile(r"token|secret|password|passwd|api_?key|authorization|credential|cookie", re.IGNORECASE)

Scalar = str | int | float | bool | None
Detail = Scalar | Sequence[Scalar]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a user (None for the platform itself) and the key they acted with, or ``CLI``, ``SYSTEM``,
    or ``local-owner`` (the studio on loopback)."""

    user_id: str | None
    key_id: str

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.user_id or None, principal.key_id or SYSTEM)


def record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    workspace_id: str | None,
    target: tuple[str, str | None],
    /,
    **detail: Detail,
) -> None:
    """Add the row of ``action`` on ``target`` (its type and id) to ``uow``'s transaction; logged (without its
    detail) once it commits."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    for name, value in detail.items():
        _check(name, value)
    facts = {name: list(value) if isinstance(value, list | tuple) else value for name, value in detail.items()}
    target_type, target_id = target
    uow.audit.add(
        AuditEvent(
            workspace_id=workspace_id,
            actor_user_id=actor.user_id,
            actor_key_id=actor.key_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=facts,
        )
    )
    line = f"audit {action} {target_type} {target_id} in workspace {workspace_id} by {actor.user_id}/{actor.key_id}"

    async def logged() -> None:
        log.info(line)

    uow.after_commit(logged)


def _check(name: str, value: Detail) -> None:
    """A programming error, raised before anything is written, for a detail that could hold a secret."""
    if _SECRET_WORDS.search(name):
        raise ValueError(f"audit detail {name!r} names a secret: the audit log never holds one")
    for item in value if isinstance(value, list | tuple) else [value]:
        if not isinstance(item, str | int | float | bool | None) or (isinstance(item, str) and len(item) > MAX_VALUE):
            raise ValueError(f"audit detail {name!r}: short scalars or lists of them only")
