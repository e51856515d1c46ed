"""Who am I and where: ``GET /v1/users/me`` and ``GET /v1/workspaces`` (the key's one workspace)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from plait.platform import access
from plait.server.deps import Caller, Uow, require_scope
from plait.server.envelope import ok

router = APIRouter(dependencies=[require_scope("workspaces")])
COZE_ROLES = {"owner": "owner", "admin": "admin"}  # Coze knows no viewer: everyone else is a member


@router.get("/v1/users/me")
async def me(uow: Uow, caller: Caller) -> dict[str, Any]:
    user = await access.current_user(uow, caller)
    return ok({"user_id": user.id, "user_name": user.name, "nick_name": user.nick_name, "avatar_url": user.avatar_url})


@router.get("/v1/workspaces")
async def workspaces(uow: Uow, caller: Caller) -> dict[str, Any]:
    workspace = await access.principal_workspace(uow, caller)
    item = {
        "id": workspace.id,
        "name": workspace.name,
        "icon_url": workspace.icon_url,
        "role_type": COZE_ROLES.get(caller.role, "member"),
        "workspace_type": workspace.workspace_type,
        "enterprise_id": "",
    }
    return ok({"total_count": 1, "workspaces": [item]})
