"""Plugins of a workspace, and which bots name one (so a plugin in use is not deleted from under them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select

from plait.store.repositories.base import ScopedRepository
from plait.store.tables import Bot, BotVersion, Plugin


class PluginRepository(ScopedRepository[Plugin]):
    model = Plugin

    async def named(self, workspace_id: str, name: str) -> Plugin | None:
        return (await self.session.execute(self._scoped(workspace_id, Plugin.name == name))).scalar()

    async def all(self, workspace_id: str) -> list[Plugin]:
        query = self._scoped(workspace_id).order_by(Plugin.created_at, Plugin.id)
        return list((await self.session.execute(query)).scalars())

    async def among(self, workspace_id: str, ids: list[str]) -> list[Plugin]:
        if not ids:
            return []
        return list((await self.session.execute(self._scoped(workspace_id, Plugin.id.in_(ids)))).scalars())

    async def bindings(self, workspace_id: str) -> list[tuple[str, str, list[Any], list[Any]]]:
        """Every bot of the workspace as (id, name, its draft's plugins, its published version's plugins).
        Bots are few per workspace and JSON containment differs between SQLite and PostgreSQL: the caller
        filters."""
        published = and_(BotVersion.bot_id == Bot.id, BotVersion.version == Bot.published_version)
        query = (
            select(Bot.id, Bot.name, Bot.plugins, BotVersion.snapshot)
            .outerjoin(BotVersion, published)
            .where(Bot.workspace_id == workspace_id)
        )
        rows = await self.session.execute(query)
        return [(id, name, draft or [], (snapshot or {}).get("plugins") or []) for id, name, draft, snapshot in rows]
