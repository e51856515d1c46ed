"""Workspaces, users and their members, API keys, provider model configs."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from plait.store.repositories.base import MAX_OFFSET, ScopedRepository
from plait.store.tables import ApiKey, ModelConfig, User, Workspace, WorkspaceMember


def hash_token(token: str) -> str:
    """What `api_keys.token_hash` holds: tokens are random and long, so a plain sha256 is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def get(self, id: str) -> User | None:
        return await self.session.get(User, id)

    async def get_by_name(self, name: str) -> User | None:
        return (await self.session.execute(select(User).where(User.name == name))).scalar()


class WorkspaceRepository:
    """Workspaces are reached through a membership: a user sees only the workspaces they belong to."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, workspace: Workspace, *, owner_id: str | None = None) -> Workspace:
        workspace.owner_user_id = owner_id
        self.session.add(workspace)
        await self.session.flush()
        if owner_id is not None:
            await self.add_member(workspace.id, owner_id, "owner")
        return workspace

    async def get(self, id: str) -> Workspace | None:
        return await self.session.get(Workspace, id)

    async def add_member(self, workspace_id: str, user_id: str, role: str) -> WorkspaceMember:
        member = WorkspaceMember(workspace_id=workspace_id, user_id=user_id, role=role)
        self.session.add(member)
        await self.session.flush()
        return member

    async def role(self, workspace_id: str, user_id: str) -> str | None:
        member = await self.session.get(WorkspaceMember, (workspace_id, user_id))
        return member.role if member else None

    async def member(self, workspace_id: str, user_id: str) -> WorkspaceMember | None:
        return await self.session.get(WorkspaceMember, (workspace_id, user_id))

    async def members(self, workspace_id: str, *, limit: int) -> list[tuple[WorkspaceMember, User]]:
        """The workspace's members and their users, in the order they joined."""
        query = (
            select(WorkspaceMember, User)
            .join(User, User.id == WorkspaceMember.user_id)
            .where(WorkspaceMember.workspace_id == workspace_id)
            .order_by(WorkspaceMember.created_at, WorkspaceMember.user_id)
            .limit(limit)
        )
        return [(member, user) for member, user in await self.session.execute(query)]

    async def lock(self, workspace_id: str) -> Workspace | None:
        """The workspace row, locked until the transaction ends (PostgreSQL; SQLite has one writer at a time):
        two membership changes of one workspace run one after the other, so a rule that counts its owners
        holds."""
        query = select(Workspace).where(Workspace.id == workspace_id).with_for_update()
        return (await self.session.execute(query)).scalar()

    async def count_role(self, workspace_id: str, role: str) -> int:
        query = (
            select(func.count())
            .select_from(WorkspaceMember)
            .where(WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.role == role)
        )
        return int((await self.session.execute(query)).scalar_one())

    async def remove_member(self, member: WorkspaceMember) -> None:
        await self.session.delete(member)
        await self.session.flush()

    async def for_user(
        self, user_id: str, *, page_num: int = 1, page_size: int = 20
    ) -> tuple[list[tuple[Workspace, str]], int]:
        """The user's workspaces with their role in each, oldest first, and the total count."""
        query = (
            select(Workspace, WorkspaceMember.role)
            .join(WorkspaceMember, WorkspaceMember.workspace_id == Workspace.id)
            .where(WorkspaceMember.user_id == user_id)
        )
        rows = await self.session.execute(
            query.order_by(Workspace.created_at, Workspace.id)
            .offset(min((page_num - 1) * page_size, MAX_OFFSET))
            .limit(page_size)
        )
        count = select(func.count()).select_from(WorkspaceMember).where(WorkspaceMember.user_id == user_id)
        total = (await self.session.execute(count)).scalar_one()
        return [(workspace, role) for workspace, role in rows], total

    async def delete(self, id: str) -> bool:
        workspace = await self.get(id)
        if workspace is None:
            return False
        await self.session.delete(workspace)
        await self.session.flush()
        return True


class ApiKeyRepository(ScopedRepository[ApiKey]):
    model = ApiKey

    async def find_active(self, token_hash: str, now: int) -> ApiKey | None:
        """The key a bearer token authenticates as (any workspace: the key names it), unless revoked or expired."""
        query = select(ApiKey).where(ApiKey.token_hash == token_hash, ApiKey.revoked_at.is_(None))
        key = (await self.session.execute(query)).scalar()
        if key is None or (key.expires_at is not None and key.expires_at <= now):
            return None
        return key

    async def of_user(self, workspace_id: str, user_id: str) -> list[ApiKey]:
        """The user's keys of the workspace that are not revoked."""
        query = self._scoped(workspace_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        return list((await self.session.execute(query)).scalars())

    async def mark_used(self, id: str, at: int) -> None:
        """One UPDATE, no read first: it runs on every authenticated request that is due a write."""
        await self.session.execute(update(ApiKey).where(ApiKey.id == id).values(last_used_at=at))


class ModelConfigRepository(ScopedRepository[ModelConfig]):
    model = ModelConfig

    async def named(self, workspace_id: str, name: str) -> ModelConfig | None:
        return (await self.session.execute(self._scoped(workspace_id, ModelConfig.name == name))).scalar()

    async def all(self, workspace_id: str) -> list[ModelConfig]:
        query = self._scoped(workspace_id).order_by(ModelConfig.name)
        return list((await self.session.execute(query)).scalars())
