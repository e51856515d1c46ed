"""Helpers the platform tests share (imported by name: conftest modules are not for importing)."""

from __future__ import annotations

from plait.platform.access import Principal, bootstrap, user_workspaces
from plait.store import UnitOfWork


async def workspace_owner(uow: UnitOfWork) -> Principal:
    """The first start's admin as the owner of their workspace (what a use case gets for a key of theirs)."""
    admin = await bootstrap(uow)
    workspace, _ = (await user_workspaces(uow, admin.id))[0]
    return Principal(key_id="", user_id=admin.id, workspace_id=workspace.id, role="owner")
