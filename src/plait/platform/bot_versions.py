"""A bot's version history: every publish froze the draft as a version; the newest is what chats run."""

from __future__ import annotations

import re
from dataclasses import dataclass

from plait.platform.access import Principal
from plait.platform.bot_config import BotConfig
from plait.platform.bots import get_bot
from plait.platform.errors import InvalidParams, NotFound
from plait.store import UnitOfWork
from plait.store.tables import BotVersion

VERSION = re.compile(r"[0-9]{1,19}")  # what `new_id` makes: a version is one of its ids


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionRecord:
    version: str
    published_at: int
    connector_ids: tuple[str, ...]
    online: bool  # the version chats run now
    config: BotConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionPage:
    items: list[VersionRecord]
    total: int


async def list_versions(
    uow: UnitOfWork, principal: Principal, bot_id: str, *, page_num: int = 1, page_size: int = 20
) -> VersionPage:
    """Newest first; an unknown bot (or another workspace's) is 4200."""
    draft = await get_bot(uow, principal, bot_id, published=False)
    page = await uow.bot_versions.for_bot(principal.workspace_id, bot_id, page_num=page_num, page_size=page_size)
    items = [_record(row, draft.bot.published_version) for row in page.items]
    return VersionPage(items=items, total=page.total)


async def get_version(uow: UnitOfWork, principal: Principal, bot_id: str, version: str) -> VersionRecord:
    """One version with its whole config; a version that is not an id is 4000, an unknown bot or version (or
    another workspace's) 4200."""
    if not VERSION.fullmatch(version):
        raise InvalidParams(f"version: {version[:40]!r} is not a version id (1 to 19 digits)")
    draft = await get_bot(uow, principal, bot_id, published=False)
    row = await uow.bot_versions.find(principal.workspace_id, bot_id, version)
    if row is None:
        raise NotFound(f"bot {bot_id} has no version {version}")
    return _record(row, draft.bot.published_version)


def _record(row: BotVersion, online: str | None) -> VersionRecord:
    return VersionRecord(
        version=row.version,
        published_at=row.published_at,
        connector_ids=tuple(row.connector_ids),
        online=row.version == online,
        config=BotConfig.from_columns(row.snapshot),
    )
