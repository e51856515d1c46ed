"""Who the studio acts for and where: the workspaces a principal may switch between, and the data dir's owner
as a principal without a key, which the studio uses only for loopback requests to a loopback server (whoever
can reach such a server already runs as a user of this machine, who can read the data dir and make keys)."""

from __future__ import annotations

from dataclasses import dataclass

from plait.platform.access import ADMIN_NAME, Principal, principal_workspace, user_workspaces
from plait.platform.errors import NotFound, Unauthorized
from plait.store import UnitOfWork

LOCAL_KEY_ID = "local-owner"  # no key stands behind this principal; usage is not recorded for it


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceRecord:
    id: str
    name: str
    workspace_type: str
    role: str


async def local_owner(uow: UnitOfWork, workspace_id: str | None) -> Principal:
    """The bootstrap admin in ``workspace_id`` (their first workspace when None), with every scope."""
    admin = await uow.users.get_by_name(ADMIN_NAME)
    if admin is None:
        raise Unauthorized("this server has no owner yet; sign in with an API key")
    workspaces = await user_workspaces(uow, admin.id)
    for workspace, role in workspaces:
        if workspace_id in (None, workspace.id):
            return Principal(key_id=LOCAL_KEY_ID, user_id=admin.id, workspace_id=workspace.id, role=role)
    raise NotFound(f"workspace {workspace_id} not found")


async def switchable_workspaces(uow: UnitOfWork, principal: Principal) -> list[WorkspaceRecord]:
    """The local owner switches between all their workspaces; a key opens exactly one."""
    if principal.key_id == LOCAL_KEY_ID:
        rows = await user_workspaces(uow, principal.user_id)
    else:
        rows = [(await principal_workspace(uow, principal), principal.role)]
    return [
        WorkspaceRecord(id=workspace.id, name=workspace.name, workspace_type=workspace.workspace_type, role=role)
        for workspace, role in rows
    ]
