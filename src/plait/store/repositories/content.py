"""Bots and their published versions, files, datasets with their documents and the documents' chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Row, delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from plait.store.repositories.base import Page, ScopedRepository, paged
from plait.store.tables import Bot, BotVersion, Dataset, DatasetDocument, File
from plait.store.tables.knowledge import DatasetChunk

T = TypeVar("T")
IN_BATCH = 500  # ids per IN (...): SQLite allows 32766 variables a statement, older builds 999
PROCESSING, DONE, FAILED = 0, 1, 9  # document status, as Coze numbers it


def batched(items: Sequence[T], size: int = IN_BATCH) -> Iterable[Sequence[T]]:
    return (items[start : start + size] for start in range(0, len(items), size))


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

    async def many(self, workspace_id: str, ids: Sequence[str]) -> list[Dataset]:
        """The datasets among ``ids`` that exist in this workspace."""
        found: list[Dataset] = []
        for batch in batched(ids):
            found.extend((await self.session.execute(self._scoped(workspace_id, Dataset.id.in_(batch)))).scalars())
        return found

    async def chunk_total(self, dataset_id: str) -> int | None:
        """The chunks of the dataset's done documents; None when there is no such dataset (any workspace)."""
        return await self.session.scalar(select(Dataset.chunk_count).where(Dataset.id == dataset_id))

    async def add_chunks(self, dataset_id: str, count: int, *, cap: int) -> bool:
        """Count a document's chunks in and move the index version, unless that would pass ``cap``: one
        conditional UPDATE, so concurrent ingestions (any process) never overshoot together."""
        statement = (
            update(Dataset)
            .where(Dataset.id == dataset_id, Dataset.chunk_count + count <= cap)
            .values(chunk_count=Dataset.chunk_count + count, index_version=Dataset.index_version + 1)
        )
        result = await self.session.execute(statement.execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0))

    async def remove_chunks(self, dataset_id: str, count: int) -> None:
        """Count removed documents' chunks out and move the index version."""
        statement = (
            update(Dataset)
            .where(Dataset.id == dataset_id)
            .values(chunk_count=Dataset.chunk_count - count, index_version=Dataset.index_version + 1)
        )
        await self.session.execute(statement.execution_options(synchronize_session=False))


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

    async def many(self, workspace_id: str, ids: Sequence[str]) -> list[DatasetDocument]:
        """The documents among ``ids`` that exist in this workspace (``datasets.process`` takes a list)."""
        found: list[DatasetDocument] = []
        for batch in batched(ids):
            query = self._scoped(workspace_id, DatasetDocument.id.in_(batch))
            found.extend((await self.session.execute(query)).scalars())
        return sorted(found, key=lambda document: document.id)

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

    async def delete_many(self, workspace_id: str, ids: Sequence[str]) -> list[tuple[str, int, int]]:
        """Delete the documents (their chunks cascade); (dataset id, status, chunks) of each one deleted, as
        the row was when it went, so a document finishing meanwhile is counted as it ended."""
        deleted: list[tuple[str, int, int]] = []
        for batch in batched(ids):
            statement = (
                delete(DatasetDocument)
                .where(DatasetDocument.workspace_id == workspace_id, DatasetDocument.id.in_(batch))
                .returning(DatasetDocument.dataset_id, DatasetDocument.status, DatasetDocument.slice_count)
            )
            result = await self.session.execute(statement.execution_options(synchronize_session=False))
            deleted.extend((row[0], row[1], row[2]) for row in result)
        return deleted

    # -- ingestion: not scoped to a workspace, the ingesting process addresses its own documents --------------
    async def done_ids(self, dataset_id: str) -> set[str]:
        query = select(DatasetDocument.id).where(
            DatasetDocument.dataset_id == dataset_id, DatasetDocument.status == DONE
        )
        return set((await self.session.execute(query)).scalars())

    async def leased(self, document_id: str, owner: str, **values: Any) -> bool:
        """Write a document still processing under ``owner``'s lease; False when it is not (any more): deleted,
        or failed because the lease ran out."""
        statement = (
            update(DatasetDocument)
            .where(
                DatasetDocument.id == document_id,
                DatasetDocument.status == PROCESSING,
                DatasetDocument.lease_owner == owner,
            )
            .values(**values)
        )
        result = await self.session.execute(statement.execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0))

    async def renew_leases(self, owner: str, until: int) -> None:
        statement = (
            update(DatasetDocument)
            .where(DatasetDocument.lease_owner == owner, DatasetDocument.status == PROCESSING)
            .values(lease_until=until)
        )
        await self.session.execute(statement.execution_options(synchronize_session=False))

    async def fail_abandoned(self, error: str, *, now: int, owner: str | None = None) -> list[str]:
        """Fail the documents processing whose lease ran out before ``now`` (or that never had one), in any
        workspace, or with ``owner`` every one that process holds; the ids of those failed (one statement, so a
        lease renewed meanwhile keeps its document)."""
        where = [DatasetDocument.status == PROCESSING]
        if owner is None:
            where.append((DatasetDocument.lease_until < now) | DatasetDocument.lease_until.is_(None))
        else:
            where.append(DatasetDocument.lease_owner == owner)
        statement = (
            update(DatasetDocument)
            .where(*where)
            .values(status=FAILED, error=error, lease_owner=None, lease_until=None)
            .returning(DatasetDocument.id)
        )
        result = await self.session.execute(statement.execution_options(synchronize_session=False))
        return list(result.scalars())


class ChunkRepository:
    """The chunks of dataset documents; not scoped to a workspace: callers reach them through a document or a
    dataset they already checked. On PostgreSQL with pgvector, vectors live in ``dataset_vectors`` instead of
    the chunk rows (see `ensure_pgvector`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ensure_pgvector(self) -> bool | None:
        """On PostgreSQL: make sure the ``vector`` extension and the ``dataset_vectors`` table exist; False when the
        extension is neither installed nor installable here, None when the database is not PostgreSQL. The table is
        made here rather than by a migration because it exists only where pgvector does."""
        if self.session.get_bind().dialect.name != "postgresql":
            return None
        lock = text("SELECT pg_advisory_xact_lock(4712001)")  # workers starting together take turns
        await self.session.execute(lock)
        if await self.session.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'vector'")) is None:
            available = text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
            if await self.session.scalar(available) is None:
                return False
            try:
                async with self.session.begin_nested():
                    await self.session.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            except DBAPIError:  # not allowed to: a superuser must create it
                return False
        await self.session.execute(
            text(
                "CREATE TABLE IF NOT EXISTS dataset_vectors (chunk_id varchar(48) PRIMARY KEY "
                "REFERENCES dataset_chunks (id) ON DELETE CASCADE, dataset_id varchar(32) NOT NULL, "
                "embedding vector NOT NULL)"
            )
        )
        await self.session.execute(
            text("CREATE INDEX IF NOT EXISTS ix_dataset_vectors_dataset_id ON dataset_vectors (dataset_id)")
        )
        return True

    async def add(self, chunks: Sequence[dict[str, Any]], vectors: Sequence[str] | None = None) -> None:
        """Insert chunk rows (columns of `DatasetChunk`); ``vectors`` as pgvector literals, one per chunk, go to
        ``dataset_vectors`` in the same transaction."""
        await self.session.execute(insert(DatasetChunk), list(chunks))
        if vectors is not None:
            rows = [
                {"id": chunk["id"], "dataset": chunk["dataset_id"], "vector": vector}
                for chunk, vector in zip(chunks, vectors, strict=True)
            ]
            await self.session.execute(
                text(
                    "INSERT INTO dataset_vectors (chunk_id, dataset_id, embedding) "
                    "VALUES (:id, :dataset, CAST(CAST(:vector AS text) AS vector))"
                ),
                rows,
            )

    async def delete_for(self, document_ids: Sequence[str]) -> None:
        for batch in batched(document_ids):
            statement = delete(DatasetChunk).where(DatasetChunk.document_id.in_(batch))
            await self.session.execute(statement.execution_options(synchronize_session=False))

    async def stream(self, document_ids: Sequence[str], *, vectors: bool) -> AsyncIterator[Sequence[Row[Any]]]:
        """The chunks of the documents, in document and position order, a few hundred rows at a time:
        (id, document_id, content, meta, tokens[, embedding])."""
        columns: list[Any] = [
            DatasetChunk.id,
            DatasetChunk.document_id,
            DatasetChunk.content,
            DatasetChunk.meta,
            DatasetChunk.tokens,
        ]
        if vectors:
            columns.append(DatasetChunk.embedding)
        for batch in batched(sorted(document_ids)):
            query = (
                select(*columns)
                .where(DatasetChunk.document_id.in_(batch))
                .order_by(DatasetChunk.document_id, DatasetChunk.position)
            )
            result = await self.session.stream(query)
            async for partition in result.partitions(500):
                yield partition

    async def for_document(self, document_id: str, *, page_num: int = 1, page_size: int = 20) -> Page[DatasetChunk]:
        """A page of one document's chunks in position order, with only ``id``, ``position`` and ``content``
        loaded (not the terms or the vector)."""
        query = (
            select(DatasetChunk)
            .options(load_only(DatasetChunk.id, DatasetChunk.position, DatasetChunk.content, raiseload=True))
            .where(DatasetChunk.document_id == document_id)
            .order_by(DatasetChunk.position, DatasetChunk.id)
        )
        return await paged(self.session, query, page_num, page_size)

    async def nearest(self, dataset_id: str, vector: str, top_k: int) -> list[Row[Any]]:
        """pgvector: the ``top_k`` chunks of the dataset's done documents closest to ``vector`` (a literal) by
        cosine distance, exactly: (id, content, meta, score)."""
        query = text(
            "SELECT c.id, c.content, c.meta, 1 - (v.embedding <=> CAST(CAST(:vector AS text) AS vector)) AS score "
            "FROM dataset_vectors v JOIN dataset_chunks c ON c.id = v.chunk_id "
            "JOIN dataset_documents d ON d.id = c.document_id "
            "WHERE v.dataset_id = :dataset AND d.status = :done "
            "ORDER BY v.embedding <=> CAST(CAST(:vector AS text) AS vector), c.id LIMIT :top_k"
        )
        parameters = {"vector": vector, "dataset": dataset_id, "done": DONE, "top_k": top_k}
        return list(await self.session.execute(query, parameters))
