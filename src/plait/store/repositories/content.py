"""Bots and their published versions, files, datasets and their documents."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import func, select, update

from plait.store.models import Bot, BotVersion, Dataset, DatasetDocument, File
from plait.store.repositories.base import Page, ScopedRepository


class BotRepository(ScopedRepository[Bot]):
    model = Bot
    order = ("-updated_at", "-id")

    async def search(
        self, workspace_id: str, *, published: bool | None = None, page_num: int = 1, page_size: int = 20
    ) -> Page[Bot]:
        where = (
            []
            if published is None
            else [Bot.published_version.is_not(None) if published else Bot.published_version.is_(None)]
        )
        return await self.page(workspace_id, *where, page_num=page_num, page_size=page_size)

    async def named(self, workspace_id: str, name: str) -> Bot | None:
        """The most recently changed bot of that name (names need not be unique)."""
        query = self._scoped(workspace_id, Bot.name == name).order_by(Bot.updated_at.desc(), Bot.id.desc()).limit(1)
        return (await self.session.execute(query)).scalar()


class BotVersionRepository(ScopedRepository[BotVersion]):
    """Versions are only added, never updated: a published bot must keep answering the same way."""

    model = BotVersion
    order = ("-published_at", "-id")

    async def find(self, workspace_id: str, bot_id: str, version: str | None = None) -> BotVersion | None:
        """One version of a bot, the latest when ``version`` is None."""
        query = self._scoped(workspace_id, BotVersion.bot_id == bot_id)
        if version is not None:
            query = query.where(BotVersion.version == version)
        query = query.order_by(BotVersion.published_at.desc(), BotVersion.id.desc()).limit(1)
        return (await self.session.execute(query)).scalar()

    async def for_bot(
        self, workspace_id: str, bot_id: str, *, page_num: int = 1, page_size: int = 20
    ) -> Page[BotVersion]:
        return await self.page(workspace_id, BotVersion.bot_id == bot_id, page_num=page_num, page_size=page_size)


class FileRepository(ScopedRepository[File]):
    model = File

    async def find_by_sha256(self, workspace_id: str, sha256: str) -> File | None:
        """An earlier upload of the same bytes, so they are stored once."""
        return (await self.session.execute(self._scoped(workspace_id, File.sha256 == sha256).limit(1))).scalar()


class DatasetRepository(ScopedRepository[Dataset]):
    model = Dataset

    async def search(
        self,
        workspace_id: str,
        *,
        name: str | None = None,
        format_type: int | None = None,
        page_num: int = 1,
        page_size: int = 20,
    ) -> Page[Dataset]:
        where = []
        if name:
            where.append(Dataset.name.contains(name, autoescape=True))
        if format_type is not None:
            where.append(Dataset.format_type == format_type)
        return await self.page(workspace_id, *where, page_num=page_num, page_size=page_size)

    async def existing_ids(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` are datasets in any workspace: maintenance at start, not a tenant's query."""
        if not ids:
            return set()
        return set((await self.session.execute(select(Dataset.id).where(Dataset.id.in_(ids)))).scalars())


class DocumentTotals(NamedTuple):
    documents: int
    slices: int
    bytes: int
    hits: int


class DocumentRepository(ScopedRepository[DatasetDocument]):
    model = DatasetDocument
    order = ("created_at", "id")

    async def for_dataset(
        self, workspace_id: str, dataset_id: str, *, page_num: int = 1, page_size: int = 20
    ) -> Page[DatasetDocument]:
        where = DatasetDocument.dataset_id == dataset_id
        return await self.page(workspace_id, where, page_num=page_num, page_size=page_size)

    async def many(self, workspace_id: str, ids: list[str]) -> list[DatasetDocument]:
        """The documents among ``ids`` that exist in this workspace (``datasets.process`` takes a list)."""
        query = self._scoped(workspace_id, DatasetDocument.id.in_(ids)).order_by(DatasetDocument.id)
        return list((await self.session.execute(query)).scalars())

    async def totals(self, workspace_id: str, dataset_ids: list[str]) -> dict[str, DocumentTotals]:
        """Per dataset among ``dataset_ids``: its documents, slices, bytes and hits (none: no entry)."""
        query = (
            select(
                DatasetDocument.dataset_id,
                func.count(),
                func.sum(DatasetDocument.slice_count),
                func.sum(DatasetDocument.size),
                func.sum(DatasetDocument.hit_count),
            )
            .where(DatasetDocument.workspace_id == workspace_id, DatasetDocument.dataset_id.in_(dataset_ids))
            .group_by(DatasetDocument.dataset_id)
        )
        rows = await self.session.execute(query)
        return {row[0]: DocumentTotals(*(int(value or 0) for value in row[1:])) for row in rows}

    async def fail_processing(self, error: str) -> None:
        """Mark every document still processing, in any workspace, failed: maintenance at start, when no
        ingestion of this process can be running yet."""
        statement = update(DatasetDocument).where(DatasetDocument.status == 0).values(status=9, error=error)
        await self.session.execute(statement.execution_options(synchronize_session=False))
