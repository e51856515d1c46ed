"""The knowledge bases of the datasets and the tasks that ingest into them, kept apart from the dataset use
cases of `plait.platform.datasets` because they live as long as the process, not a request.

`DatasetIndexes` is made once per process in the app lifespan (``app.state.dataset_indexes``) and closed
at shutdown: it owns the open `KnowledgeBase` handles (one folder per dataset under
``<data_dir>/datasets``), the per-dataset write locks and the asyncio ingestion tasks, which write each
document's progress and outcome back to its row.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from plait.components import Embedder
from plait.knowledge.base import KnowledgeBase, embedder_for
from plait.knowledge.config import KnowledgeBaseConfig
from plait.knowledge.manifest import TERMINAL, DocumentRecord
from plait.schema import Document
from plait.store import UnitOfWork

PROCESSING, DONE, FAILED = 0, 1, 9  # document status, as Coze numbers it
LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")  # the only networks a web_url document is fetched from
INTERRUPTED = "the server stopped before this document was processed; upload it again"


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    """What the ingestion task needs of one accepted document; only ``data`` lives nowhere but memory."""

    document_id: str
    workspace_id: str
    file_name: str  # with the extension the parser goes by
    data: bytes | None = None
    path: Path | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestBatch:
    """The documents of one create call, ingested in order by one task once the request has committed."""

    dataset_id: str
    config: KnowledgeBaseConfig
    items: list[Pending]


# -- the knowledge bases and their ingestion tasks ---------------------------------------------------------
class DatasetIndexes:
    """Open knowledge bases keyed by dataset id, and the ingestion tasks that write into them.

    One per process, made in the app lifespan (``app.state.dataset_indexes``) and closed at shutdown, which
    cancels running ingestions and closes every base. Writes to one dataset (ingestion, removal, drop) take
    that dataset's lock, so the engine never ingests into one base twice at once; searches take none.
    """

    def __init__(self, root: Path, sessions: async_sessionmaker[AsyncSession], *, max_bytes: int) -> None:
        self.root = root
        self.sessions = sessions
        self.max_bytes = max_bytes
        self._bases: dict[str, KnowledgeBase] = {}
        self._embedders: dict[str, Embedder] = {}
        self._opening = asyncio.Lock()
        self._writing: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: defaultdict[str, set[asyncio.Task[None]]] = defaultdict(set)

    async def recover(self) -> None:
        """At start: fail the documents an earlier process left processing, and delete the folders of
        datasets whose deletion was committed but whose folder removal never ran."""
        async with UnitOfWork(self.sessions) as uow:
            await uow.documents.fail_processing(INTERRUPTED)
            folders = await asyncio.to_thread(_folder_names, self.root)
            known = await uow.datasets.existing_ids(folders)
        for name in set(folders) - known:
            await asyncio.to_thread(shutil.rmtree, self.root / name, True)

    async def close(self) -> None:
        tasks = [task for group in self._tasks.values() for task in group]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for base in self._bases.values():
            await base.close()
        self._bases.clear()

    async def base(self, dataset_id: str, config: KnowledgeBaseConfig | None = None) -> KnowledgeBase | None:
        """The dataset's open base; with ``config`` created when missing, without it None when missing."""
        async with self._opening:
            base = self._bases.get(dataset_id)
            if base is not None:
                return base
            folder = self.root / dataset_id
            config_file = folder / "config.json"
            if config is None:
                if not await asyncio.to_thread(config_file.is_file):
                    return None
                config = await asyncio.to_thread(KnowledgeBaseConfig.load, config_file)
            embedder = self._embedder(config.embedder)
            base = self._bases[dataset_id] = await KnowledgeBase.open(folder, config, embedder=embedder)
            return base

    def _embedder(self, embedder_id: str) -> Embedder:
        """One embedder per id for the process: the local model is loaded once, whatever the dataset count."""
        if embedder_id not in self._embedders:
            if embedder_id == "hashing":
                from plait.embeddings.hashing import HashingEmbedder

                self._embedders[embedder_id] = HashingEmbedder()
            else:
                self._embedders[embedder_id] = embedder_for(embedder_id)
        return self._embedders[embedder_id]

    async def submit(self, batch: IngestBatch) -> None:
        """Start ingesting a committed batch (after the request's transaction, never inside it); async so a
        response's background tasks run it on the event loop, not in a thread."""
        tasks = self._tasks[batch.dataset_id]
        task = asyncio.create_task(self._ingest(batch), name=f"ingest dataset {batch.dataset_id}")
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def remove(self, dataset_id: str, document_ids: Sequence[str]) -> None:
        """Take deleted documents out of the indexes (after their rows are gone)."""
        async with self._writing[dataset_id]:
            base = await self.base(dataset_id)
            if base is not None:
                for document_id in document_ids:
                    await base.delete_document(document_id)

    async def drop(self, dataset_id: str) -> None:
        """Stop the dataset's ingestions, close its base and delete its folder (after its row is gone)."""
        tasks = list(self._tasks.pop(dataset_id, ()))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        async with self._writing[dataset_id]:
            async with self._opening:
                base = self._bases.pop(dataset_id, None)
            if base is not None:
                await base.close()
            await asyncio.to_thread(shutil.rmtree, self.root / dataset_id, True)
        self._writing.pop(dataset_id, None)

    async def _ingest(self, batch: IngestBatch) -> None:
        async with self._writing[batch.dataset_id]:
            for item in batch.items:
                try:
                    base = await self.base(batch.dataset_id, batch.config)
                    assert base is not None  # created when missing
                    record = await self._ingest_one(base, item)
                except Exception as exc:  # one bad document must not stop the batch or kill the task silently
                    await self._finish(item, status=FAILED, error=f"{type(exc).__name__}: {exc}")
                    continue
                if record.status == "ready":
                    finished = await self._finish(
                        item, status=DONE, progress=100, slice_count=record.chunk_count, char_count=record.char_count
                    )
                    if not finished:  # deleted while it was being ingested
                        await base.delete_document(item.document_id)
                else:
                    await self._finish(item, status=FAILED, error=record.error or "ingestion failed")

    async def _ingest_one(self, base: KnowledgeBase, item: Pending) -> DocumentRecord:
        last = -1

        async def progress(record: DocumentRecord) -> None:
            nonlocal last
            percent = int(record.progress * 100)
            if record.status not in TERMINAL and percent != last:
                last = percent
                await self._finish(item, progress=percent)

        if item.url is not None:
            from plait.knowledge.loaders import UrlLoader

            loader = UrlLoader(max_bytes=self.max_bytes, allowed_networks=LOOPBACK_NETWORKS, max_redirects=0)
            pages = await loader.load(item.url)
            merged = Document(
                id=item.document_id,
                content="\n\n".join(page.content for page in pages),
                metadata={**(pages[0].metadata if pages else {}), "title": item.file_name},
            )
            (record,) = await base.add_documents([merged], on_progress=progress)
            return record
        data = item.data if item.data is not None else await asyncio.to_thread(_read, item.path)
        return await base.add_bytes(data, item.file_name, document_id=item.document_id, on_progress=progress)

    async def _finish(self, item: Pending, **values: Any) -> bool:
        """Write a document's progress or outcome; False when its row is gone (the document was deleted)."""
        async with UnitOfWork(self.sessions) as uow:
            return await uow.documents.update(item.workspace_id, item.document_id, **values) is not None


def _folder_names(root: Path) -> list[str]:
    return [path.name for path in root.iterdir()] if root.is_dir() else []


def _read(path: Path | None) -> bytes:
    assert path is not None  # a Pending has data, a path or a url
    return path.read_bytes()
