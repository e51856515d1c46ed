"""``/api/studio/session``, ``/api/studio/providers``, ``/api/studio/keys``, ``/api/studio/members`` and
``/api/studio/audit``: who is signed in and where, the workspace's model providers, its API keys (owners and
admins only: a key reaches everything its scopes allow, and a provider key spends the workspace's credit), its
members and their roles (owners and admins only; the rules are in `plait.platform.access`), and its audit log
(owners and admins only: it names every key and member)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from plait.platform import Forbidden, Principal, access, audit, audit_log, providers
from plait.platform.local_owner import LOCAL_KEY_ID, switchable_workspaces
from plait.server.deps import Services, Uow
from plait.server.studio.auth import StudioCaller

router = APIRouter(prefix="/api/studio")


class ProviderFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str | None = None
    api_key: str | None = Field(default=None, max_length=1000)  # "" removes the key; None keeps it
    base_url: str | None = Field(default=None, max_length=2000)
    models: list[str] = Field(default_factory=list, max_length=100)


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(default_factory=list)
    user_id: str | None = Field(
        default=None, max_length=32, description="The member the key acts as (with their role); default: the caller."
    )


Role = Literal["owner", "admin", "member", "viewer"]


class NewMember(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_name: str = Field(
        min_length=1, max_length=access.MAX_USER_NAME, description="A user's name; a new name makes the user."
    )
    role: Role = "member"


class MemberRole(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


def _require_admin(caller: Principal) -> None:
    if caller.role not in providers.ADMIN_ROLES:
        raise Forbidden(f"role {caller.role!r} cannot manage this workspace's API keys")


@router.get("/session")
async def session(uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    user = await access.current_user(uow, caller)
    workspaces = await switchable_workspaces(uow, caller)
    return {
        "mode": "local" if caller.key_id == LOCAL_KEY_ID else "key",
        "user": {"id": user.id, "name": user.name, "nick_name": user.nick_name},
        "workspace_id": caller.workspace_id,
        "role": caller.role,
        "scopes": list(caller.scopes),
        "workspaces": [{"id": w.id, "name": w.name, "type": w.workspace_type, "role": w.role} for w in workspaces],
    }


@router.get("/providers")
async def list_providers(uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    rows = await providers.list_providers(uow, caller)
    items = [
        {
            "name": row.name,
            "kind": row.provider,
            "base_url": row.base_url or "",
            "models": [model for model in row.model.split(",") if model],
            "has_key": row.encrypted_key is not None,
        }
        for row in rows
    ]
    return {"items": items, "kinds": list(providers.KINDS)}


@router.put("/providers/{name}")
async def set_provider(
    name: str, body: ProviderFields, uow: Uow, caller: StudioCaller, services: Services
) -> dict[str, Any]:
    change = providers.ProviderChange(
        name=name,
        kind=body.kind or None,
        api_key=body.api_key,
        base_url=body.base_url or None,
        models=tuple(body.models),
    )
    row = await providers.set_provider(uow, caller, services.box, change)
    return {"name": row.name, "kind": row.provider}


@router.delete("/providers/{name}")
async def remove_provider(name: str, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    await providers.remove_provider(uow, caller, name)
    return {"name": name}


def _key(key: access.KeyRecord) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "user_id": key.user_id,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "revoked": key.revoked_at is not None,
        "last_used_at": key.last_used_at,
    }


@router.get("/keys")
async def list_keys(uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    _require_admin(caller)
    return {"items": [_key(key) for key in await access.list_keys(uow, caller.workspace_id)]}


@router.post("/keys", status_code=201)
async def create_key(body: NewKey, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    """The token is in this answer only; the server keeps its hash."""
    _require_admin(caller)
    new = await access.create_key(
        uow,
        audit.Actor.of(caller),
        workspace_id=caller.workspace_id,
        user_id=await access.key_user(uow, caller, body.user_id),
        name=body.name.strip(),
        scopes=body.scopes,
    )
    return {**_key(new.key), "token": new.token}


@router.post("/keys/{key_id}/revoke")
async def revoke_key(key_id: str, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    _require_admin(caller)
    return _key(await access.revoke_key(uow, audit.Actor.of(caller), [caller.workspace_id], key_id))


@router.get("/members")
async def list_members(uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    """The workspace's members and their roles, oldest first (owners and admins only)."""
    return {"items": [asdict(m) for m in await access.list_members(uow, caller)], "roles": list(access.ROLES)}


@router.post("/members", status_code=201)
async def add_member(body: NewMember, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    """Add a user (made when the name is new) with a role; only an owner adds an owner."""
    return asdict(await access.add_member(uow, caller, body.user_name, body.role))


@router.put("/members/{user_id}")
async def change_member_role(user_id: str, body: MemberRole, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    """Give a member another role; the last owner keeps theirs (400 / 4000)."""
    return asdict(await access.change_role(uow, caller, user_id, body.role))


@router.delete("/members/{user_id}")
async def remove_member(user_id: str, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    """Remove a member and revoke their keys of this workspace; the last owner stays (400 / 4000)."""
    return asdict(await access.remove_member(uow, caller, user_id))


Seconds = Annotated[int | None, Query(ge=0, le=2**53, description="Unix seconds, included.")]


@router.get("/audit")
async def list_audit_events(
    uow: Uow,
    caller: StudioCaller,
    action: Annotated[
        str | None, Query(max_length=64, description="An action or its prefix: api_key, api_key.create.")
    ] = None,
    actor: Annotated[str | None, Query(max_length=64, description="A user id, a key id, or cli.")] = None,
    since: Seconds = None,
    until: Seconds = None,
    page_num: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=audit_log.MAX_PAGE_SIZE)] = 20,
) -> dict[str, Any]:
    """The workspace's audit log, newest first (owners and admins only); ``actions`` lists every action."""
    found = audit_log.AuditFilter(action=action, actor=actor, since=since, until=until)
    page = await audit_log.workspace_events(uow, caller, found, page_num=page_num, page_size=page_size)
    return {
        "items": [asdict(event) for event in page.items],
        "total": page.total,
        "has_more": page.has_more,
        "actions": list(audit.ACTIONS),
    }
