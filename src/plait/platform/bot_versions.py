"""A bot's version history: every publish froze the draft as a version; the newest is what chats run."""

from __future__ import annotations

from dataclasses import dataclass

from plait.platform.access import Principal
from plait.platform.bot_config import BotConfig
from plait.platform.bots import get_bot
from plait.store import UnitOfWork


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
    items = [
        VersionRecord(
            version=row.version,
            published_at=row.published_at,
            connector_ids=tuple(row.connector_ids),
            online=row.version == draft.bot.published_version,
            config=BotConfig.from_columns(row.snapshot),
        )
        for row in page.items
    ]
    return VersionPage(items=items, total=page.total)
