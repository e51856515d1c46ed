"""The datasets' search indexes in one process, and the ingestion that feeds them; one `DatasetIndexes` per
process, made at start (``recover``) and closed at shutdown.

Storage is the platform database only, so any number of workers on any number of hosts share it: every chunk
of a document is a row of ``dataset_chunks`` with its text, metadata, analyzed BM25 terms and vector (with
pgvector on PostgreSQL, the vector is in ``dataset_vectors`` and searched there).

Search: per dataset it searched lately, a worker holds a BM25 index (and, without pgvector, an exact vector
matrix) in memory, loaded from those rows. The dataset row's ``index_version`` moves in the transaction that
makes a document searchable and in the one that deletes documents; a search that reads a newer version than
the worker's index first catches up, loading the chunks of documents done since and dropping those of
documents gone: incremental, never a rebuild. An index unused for ``idle_seconds`` is dropped.

Ingestion: the process that accepted a document ingests it in an asyncio task once the request committed:
parse (in a thread), chunk a few records at a time, analyze (in a thread), embed and insert the chunks in
small transactions, then mark the document done, count its chunks into the dataset (refusing to pass the
dataset's cap) and move the version, in one transaction. Documents are born leased to the accepting process,
which renews the lease while it lives; any worker's periodic sweep (and its start) fails the documents whose
lease ran out, so a dead process's documents fail and a live one's never do. A document that fails says why in
words for the client; the exception goes to the log with the document id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import shutil
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from plait.components import Embedder
from plait.embeddings.cache import CachedEmbedder, SharedVectors
from plait.knowledge.base import chunk_documents, embedder_for, retriever_for
from plait.knowledge.config import KnowledgeBaseConfig, Mode, RetrievalConfig
from plait.knowledge.errors import (
    CorruptDocument,
    DocumentTooLarge,
    EmptyDocument,
    KnowledgeError,
    SourceNotAllowed,
    UnsupportedFileType,
)
from plait.knowledge.index.bm25 import BM25Index
from plait.knowledge.index.vectors import ExactVectorStore, query_vector, unit_rows
from plait.knowledge.retrievers import KeywordRetriever, VectorRetriever
from plait.observability.metrics import JOBS, JOBS_QUEUED
from plait.schema import Document
from plait.settings import Settings
from plait.store import ConflictError, Database
from plait.store.repositories.content import DONE, FAILED, PROCESSING, batched
from plait.store.tables import Dataset, DatasetDocument

__all__ = ["DONE", "FAILED", "PROCESSING", "DatasetIndexes", "DatasetLimits", "IngestBatch", "Pending"]

log = logging.getLogger(__name__)
LEASE_SECONDS = 60  # how long a document stays leased to its process without a renewal
QUEUED = "queued"  # the lease owner of a document waiting in the job queue (Redis) for a worker
QUEUED_LEASE_SECONDS = 86_400  # how long it may wait: as long as the queue keeps a job
MAINTAIN_SECONDS = 15  # how often a process renews its leases, sweeps for dead ones and drops idle indexes
EMBED_BATCH = 64  # chunks embedded and inserted together
GROUP_CHARS = 256 * 1024  # records chunked together: a long document is never chunked and embedded whole
INTERRUPTED = "the server process ingesting this document stopped before it finished; upload it again"
INTERNAL = "the document could not be processed because of an error on the server; try again, or ask its admin"
PGVECTOR_MISSING = (
    "PostgreSQL has no pgvector extension (or this role may not create it): new datasets keep their vectors in "
    "dataset_chunks and each worker searches them in memory. For vector search in the database, install "
    "pgvector on the server (apt install postgresql-<version>-pgvector, or the pgvector/pgvector image) and run "
    "CREATE EXTENSION vector as a superuser; datasets created after that use it."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetLimits:
    """The caps of the settings, as each request hands them to the checks and its ingestion."""

    max_document_rows: int
    max_document_chunks: int
    max_dataset_chunks: int
    web_networks: tuple[str, ...]

    @classmethod
    def of(cls, settings: Settings) -> DatasetLimits:
        return cls(
            max_document_rows=settings.dataset_max_document_rows,
            max_document_chunks=settings.dataset_max_document_chunks,
            max_dataset_chunks=settings.dataset_max_chunks,
            web_networks=tuple(settings.web_url_allowed_networks),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    """What the ingestion task needs of one accepted document; only ``data`` lives nowhere but memory."""

    document_id: str
    name: str  # the document's name, as chunks record it
    file_name: str  # with the extension the parser goes by
    data: bytes | None = None
    path: Path | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestBatch:
    """The documents of one create call, ingested in order by one task once the request has committed."""

    dataset_id: str
    config: KnowledgeBaseConfig
    pgvector: bool  # the dataset keeps its vectors in pgvector
    limits: DatasetLimits
    items: list[Pending]


class Refused(Exception):
    """A document that a cap or its content rules out; the message is meant for the client as it is."""


class _Gone(Exception):
    """The document was deleted, or its lease ran out, while it was being ingested."""


@dataclass(slots=True, eq=False)
class _Index:
    """One dataset's in-memory indexes in this process, as of ``version`` of its row."""

    keywords: BM25Index
    vectors: ExactVectorStore | None  # None: the vectors are searched in pgvector
    chunks: dict[str, list[str]] = field(default_factory=dict)  # loaded document id -> its chunk ids
    version: int = -1
    used: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class DatasetIndexes:
    """The in-memory dataset indexes and the ingestion tasks of this process (see the module docstring).

    ``root`` is the folder where servers before the database-backed indexes kept one folder per dataset; it is
    removed at start. ``max_bytes`` caps a document's bytes (files, web pages); an index unused for
    ``idle_seconds`` is dropped.
    """

    def __init__(
        self,
        root: Path,
        database: Database,
        *,
        max_bytes: int,
        idle_seconds: float,
    ) -> None:
        from plait.nlu import Analyzer

        self.root = root
        self.database = database
        self.max_bytes = max_bytes
        self.idle_seconds = idle_seconds
        self.instance = secrets.token_hex(16)  # the lease owner of the documents this process ingests
        self.pgvector = False  # whether new datasets keep their vectors in pgvector; known after `recover`
        self._analyzer = Analyzer()
        self._indexes: dict[str, _Index] = {}
        self._embedders: dict[str, Embedder] = {}
        self._tasks: defaultdict[str, set[asyncio.Task[None]]] = defaultdict(set)
        self._maintenance: asyncio.Task[None] | None = None
        # With Redis: `submit` hands batches to the job queue, and a `plait worker` ingests them (platform/jobs.py).
        self.queue: Callable[[IngestBatch], Awaitable[None]] | None = None
        self.shared_vectors: SharedVectors | None = None  # with Redis: the embeddings all processes made

    # -- life cycle ---------------------------------------------------------------------------------------
    async def recover(self) -> None:
        """At start: find out whether pgvector is there, fail the documents whose process died, remove the
        folders of earlier servers, and start renewing leases, sweeping and evicting."""
        async with self.database.unit_of_work() as uow:
            pgvector = await uow.chunks.ensure_pgvector()
        if pgvector is False:
            log.warning(PGVECTOR_MISSING)
        self.pgvector = bool(pgvector)
        await self.sweep()
        await asyncio.to_thread(shutil.rmtree, self.root, True)
        self._maintenance = asyncio.create_task(self._maintain(), name="dataset leases and eviction")

    async def close(self) -> None:
        """Stop ingesting and fail what this process was still ingesting (it will never finish it)."""
        tasks = [task for group in self._tasks.values() for task in group]
        if self._maintenance is not None:
            tasks.append(self._maintenance)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        async with self.database.unit_of_work() as uow:
            failed = await uow.documents.fail_abandoned(INTERRUPTED, now=_now(), owner=self.instance)
            await uow.chunks.delete_for(failed)
        self._indexes.clear()

    def lease(self, document: DatasetDocument) -> None:
        """Lease a document this process accepts to it (or to the job queue), before its row is written."""
        if self.queue is not None:
            document.lease_owner, document.lease_until = QUEUED, _now() + QUEUED_LEASE_SECONDS
        else:
            document.lease_owner, document.lease_until = self.instance, _now() + LEASE_SECONDS

    async def sweep(self) -> list[str]:
        """Fail the documents whose lease ran out (their process died or hung), in any workspace; their ids."""
        async with self.database.unit_of_work() as uow:
            failed = await uow.documents.fail_abandoned(INTERRUPTED, now=_now())
            await uow.chunks.delete_for(failed)
        if failed:
            log.warning("failed %d documents whose ingesting process stopped: %s", len(failed), ", ".join(failed))
        return failed

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(MAINTAIN_SECONDS)
            try:
                if any(self._tasks.values()):
                    async with self.database.unit_of_work() as uow:
                        await uow.documents.renew_leases(self.instance, _now() + LEASE_SECONDS)
                await self.sweep()
                self.evict_idle()
            except Exception:  # a database hiccup must not end the renewals for good
                log.exception("dataset lease renewal or sweep failed")

    def evict_idle(self) -> None:
        """Drop the indexes not searched for ``idle_seconds``; the next search loads them again."""
        stale = time.monotonic() - self.idle_seconds
        for dataset_id in [key for key, index in self._indexes.items() if index.used < stale]:
            del self._indexes[dataset_id]

    # -- search -------------------------------------------------------------------------------------------
    async def search(self, dataset: Dataset, query: str, *, mode: Mode, top_k: int) -> list[Document]:
        """The dataset's best chunks for ``query``, as of the dataset row given (or later)."""
        embedder = self.embedder(dataset.config["embedder"])
        index = await self._current(dataset, embedder)
        settings = RetrievalConfig()
        vector: VectorRetriever | _PgVectors
        if index.vectors is not None:
            vector = VectorRetriever(index.vectors, embedder, candidates=settings.candidates)
        else:
            vector = _PgVectors(self.database, dataset.id, embedder)
        keyword = KeywordRetriever(index.keywords, candidates=settings.candidates)
        return await retriever_for(settings, mode, keyword=keyword, vector=vector).retrieve(query, top_k=top_k)

    async def _current(self, dataset: Dataset, embedder: Embedder) -> _Index:
        index = self._indexes.get(dataset.id)
        if index is None:
            vectors = (
                None if dataset.config.get("vectors") == "pgvector" else ExactVectorStore(dimension=embedder.dimension)
            )
            index = self._indexes[dataset.id] = _Index(BM25Index(self._analyzer), vectors)
        index.used = time.monotonic()
        if index.version < dataset.index_version:
            async with index.lock:
                if index.version < dataset.index_version:
                    await self._catch_up(dataset.id, index, dataset.index_version)
        return index

    async def _catch_up(self, dataset_id: str, index: _Index, version: int) -> None:
        """Bring the index to the dataset's done documents, read after ``version`` was: documents done since
        are loaded, documents gone are dropped. A failure leaves the index as it was, to be tried again."""
        async with self.database.unit_of_work() as uow:
            done = await uow.documents.done_ids(dataset_id)
        gone = [document_id for document_id in index.chunks if document_id not in done]
        if gone:
            await self._unload(index, [chunk for document_id in gone for chunk in index.chunks.pop(document_id)])
        new = sorted(done - index.chunks.keys())
        loaded: dict[str, list[str]] = defaultdict(list)
        try:
            async with self.database.unit_of_work() as uow:
                async for rows in uow.chunks.stream(new, vectors=index.vectors is not None):
                    await self._load(index, rows)
                    for row in rows:
                        loaded[row.document_id].append(row.id)
        except BaseException:
            await self._unload(index, [chunk for chunks in loaded.values() for chunk in chunks])
            raise
        index.chunks.update(loaded)
        index.version = version

    async def _load(self, index: _Index, rows: Sequence[Any]) -> None:
        documents, matrix = await asyncio.to_thread(_index_rows, index, rows)
        if index.vectors is not None:
            contents, metadata = [d.content for d in documents], [d.metadata for d in documents]
            await index.vectors.upsert([d.id for d in documents], matrix, contents=contents, metadata=metadata)

    @staticmethod
    async def _unload(index: _Index, chunk_ids: list[str]) -> None:
        if chunk_ids:
            await asyncio.to_thread(index.keywords.delete, chunk_ids)
            if index.vectors is not None:
                await index.vectors.delete(chunk_ids)

    def embedder(self, embedder_id: str) -> Embedder:
        """One embedder per id for the process: the local model is loaded once, whatever the dataset count. A
        model's vectors are cached (queries asked again, chunks ingested again), in the process and, with Redis,
        for all the processes; hashing computes faster than a cache lookup."""
        if embedder_id not in self._embedders:
            if embedder_id == "hashing":
                from plait.embeddings.hashing import HashingEmbedder

                self._embedders[embedder_id] = HashingEmbedder()
            else:
                model = embedder_for(embedder_id)
                self._embedders[embedder_id] = CachedEmbedder(model, shared=self.shared_vectors)
        return self._embedders[embedder_id]

    # -- ingestion ----------------------------------------------------------------------------------------
    async def submit(self, batch: IngestBatch) -> None:
        """Start ingesting a committed batch (after the request's transaction, never inside it); async so a
        response's background tasks run it on the event loop, not in a thread."""
        if self.queue is not None:
            await self.queue(batch)
        else:
            self._spawn(batch)

    async def ingest(self, batch: IngestBatch) -> None:
        """Ingest a batch leased to this process now (a queued job's, in `plait worker`), its leases renewed."""
        await self._spawn(batch)

    def _spawn(self, batch: IngestBatch) -> asyncio.Task[None]:
        tasks = self._tasks[batch.dataset_id]
        JOBS_QUEUED.labels("ingestion").inc(len(batch.items))
        task = asyncio.create_task(self._ingest(batch), name=f"ingest dataset {batch.dataset_id}")
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    async def drop(self, dataset_id: str) -> None:
        """After a dataset's deletion committed: stop its ingestions here and forget its index."""
        tasks = list(self._tasks.pop(dataset_id, ()))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._indexes.pop(dataset_id, None)

    async def _ingest(self, batch: IngestBatch) -> None:
        left = len(batch.items)
        try:
            for item in batch.items:
                outcome = await self._ingest_counted(batch, item)
                left -= 1
                JOBS_QUEUED.labels("ingestion").dec()
                JOBS.labels("ingestion", outcome).inc()
        finally:  # a dropped dataset's task is cancelled with documents still queued
            JOBS_QUEUED.labels("ingestion").dec(left)

    async def _ingest_counted(self, batch: IngestBatch, item: Pending) -> str:
        """Ingest one document; its outcome for ``plait_jobs_total``."""
        outcome = "done"
        try:
            try:
                await self._ingest_one(batch, item)
            except _Gone:
                outcome = "discarded"
                await self._discard(item.document_id)
            except Refused as exc:
                outcome = "refused"
                await self._fail(item.document_id, str(exc))
            except Exception as exc:  # one bad document must not stop the batch or kill the task silently
                outcome = "failed"
                reason = _public_reason(exc, item)
                log.warning("document %s of dataset %s failed: %r", item.document_id, batch.dataset_id, exc)
                if reason == INTERNAL:
                    log.error("document %s failed unexpectedly", item.document_id, exc_info=exc)
                await self._fail(item.document_id, reason)
        except Exception:  # the failure could not be recorded: its lease runs out and the sweep fails it
            log.exception("could not record the outcome of document %s", item.document_id)
        return outcome

    async def _ingest_one(self, batch: IngestBatch, item: Pending) -> None:
        limits = batch.limits
        embedder = self.embedder(batch.config.embedder)
        loaded = await self._read(item, limits)
        if len(loaded) > limits.max_document_rows:
            raise Refused(_too_many_records(limits.max_document_rows))
        room = await self._room(batch.dataset_id, limits)
        await self._progress(item, 10)
        written = characters = records = 0
        for group in _groups(loaded):
            chunks = await chunk_documents(batch.config.chunking, item.document_id, item.name, group, first=written)
            if written + len(chunks) > limits.max_document_chunks:
                raise Refused(
                    f"the document has more than {limits.max_document_chunks} chunks, the most one document may "
                    "have; split it, or use larger chunks"
                )
            if written + len(chunks) > room:
                raise Refused(_dataset_full(limits))
            for part in batched(chunks, EMBED_BATCH):
                await self._store(batch, item, part, embedder)
            written += len(chunks)
            characters += sum(len(chunk.content) for chunk in chunks)
            records += len(group)
            await self._progress(item, 10 + 85 * records // len(loaded))
        if not written:
            raise Refused("no text found in the document")
        async with self.database.unit_of_work() as uow:
            done = {"status": DONE, "progress": 100, "slice_count": written, "char_count": characters, "error": None}
            if not await uow.documents.leased(
                item.document_id, self.instance, **done, lease_owner=None, lease_until=None
            ):
                raise _Gone
            if not await uow.datasets.add_chunks(batch.dataset_id, written, cap=limits.max_dataset_chunks):
                raise Refused(_dataset_full(limits))  # rolls the document's "done" back

    async def _read(self, item: Pending, limits: DatasetLimits) -> list[Document]:
        """The document parsed into records; row-shaped files are counted before they are parsed."""
        from plait.knowledge.loaders import UrlLoader, load_bytes

        if item.url is not None:
            loader = UrlLoader(max_bytes=self.max_bytes, allowed_networks=limits.web_networks, max_redirects=0)
            pages = await loader.load(item.url)
            content = "\n\n".join(page.content for page in pages)
            metadata = {**(pages[0].metadata if pages else {}), "title": item.name}
            return [Document(id=item.document_id, content=content, metadata=metadata)]
        data = item.data if item.data is not None else await asyncio.to_thread(_read_file, item.path, self.max_bytes)
        counted = await asyncio.to_thread(count_records, data, PurePath(item.file_name).suffix.lstrip("."))
        if counted is not None and counted > limits.max_document_rows:
            raise Refused(_too_many_records(limits.max_document_rows))
        return await load_bytes(data, item.file_name, source=item.name, max_bytes=self.max_bytes)

    async def _room(self, dataset_id: str, limits: DatasetLimits) -> int:
        """How many chunks the dataset may still take (checked again, atomically, when the document is done)."""
        async with self.database.unit_of_work() as uow:
            used = await uow.datasets.chunk_total(dataset_id)
        if used is None:
            raise _Gone
        if used >= limits.max_dataset_chunks:
            raise Refused(_dataset_full(limits))
        return limits.max_dataset_chunks - used

    async def _store(self, batch: IngestBatch, item: Pending, chunks: Sequence[Document], embedder: Embedder) -> None:
        texts = [chunk.content for chunk in chunks]
        tokens = await asyncio.to_thread(lambda: [self._analyzer(text) for text in texts])
        vectors = unit_rows(await embedder.embed(texts), embedder.dimension, "an embedding")
        rows = [
            {
                "id": chunk.id,
                "dataset_id": batch.dataset_id,
                "document_id": item.document_id,
                "position": chunk.metadata["chunk_index"],
                "content": chunk.content,
                "meta": chunk.metadata,
                "tokens": json.dumps(terms, ensure_ascii=False),
                "embedding": None if batch.pgvector else vector.astype("<f4").tobytes(),
            }
            for chunk, terms, vector in zip(chunks, tokens, vectors, strict=True)
        ]
        literals = [_literal(vector) for vector in vectors] if batch.pgvector else None
        try:
            async with self.database.unit_of_work() as uow:
                await uow.chunks.add(rows, literals)
        except ConflictError:  # the document's row is gone: deleted while it was ingested
            raise _Gone from None

    async def _progress(self, item: Pending, percent: int) -> None:
        async with self.database.unit_of_work() as uow:
            if not await uow.documents.leased(item.document_id, self.instance, progress=percent):
                raise _Gone

    async def _fail(self, document_id: str, reason: str) -> None:
        async with self.database.unit_of_work() as uow:
            await uow.documents.leased(
                document_id, self.instance, status=FAILED, error=reason, lease_owner=None, lease_until=None
            )
            await uow.chunks.delete_for([document_id])

    async def _discard(self, document_id: str) -> None:
        async with self.database.unit_of_work() as uow:
            await uow.chunks.delete_for([document_id])


class _PgVectors:
    """The vector side of a search whose dataset keeps its vectors in pgvector (a `Retriever`)."""

    def __init__(self, database: Database, dataset_id: str, embedder: Embedder) -> None:
        self.database, self.dataset_id, self.embedder = database, dataset_id, embedder

    async def retrieve(self, query: str, **options: Any) -> list[Document]:
        if options.get("filters"):
            raise ValueError("dataset searches take no metadata filters")
        [vector] = await self.embedder.embed([query])
        literal = _literal(query_vector(vector, self.embedder.dimension))
        async with self.database.unit_of_work() as uow:
            rows = await uow.chunks.nearest(self.dataset_id, literal, int(options.get("top_k", 10)))
        return [
            Document(id=row.id, content=row.content, metadata=_json(row.meta), score=float(row.score)) for row in rows
        ]


def _index_rows(index: _Index, rows: Sequence[Any]) -> tuple[list[Document], np.ndarray[Any, Any]]:
    """Add chunk rows to the BM25 index (their terms were analyzed at ingestion); the chunks, and their vectors
    when the rows hold them. CPU work: run in a thread."""
    documents = [Document(id=row.id, content=row.content, metadata=dict(row.meta)) for row in rows]
    index.keywords.add_analyzed(documents, [json.loads(row.tokens) for row in rows])
    if index.vectors is None:
        return documents, np.empty((0, 0), dtype=np.float32)
    vectors = b"".join(row.embedding for row in rows)
    return documents, np.frombuffer(vectors, dtype="<f4").reshape(len(rows), index.vectors.dimension)


def count_records(data: bytes, kind: str) -> int | None:
    """How many records (rows, lines, array items) a row-shaped file holds at most, found without building a
    document per record; None for other kinds, whose records (pages) are counted once parsed."""
    if kind in ("csv", "tsv", "jsonl", "ndjson"):
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        return lines - 1 if kind in ("csv", "tsv") else lines  # less the header row
    if kind == "json":
        try:
            value = json.loads(data)
        except ValueError:
            return None  # the parser reports it, in its words
        return len(value) if isinstance(value, list) else 1
    if kind in ("xlsx", "xlsm"):
        return _sheet_rows(data)
    return None


def _sheet_rows(data: bytes) -> int | None:
    import io
    import zipfile

    from openpyxl import load_workbook  # type: ignore[import-untyped]

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError):
        return None
    try:
        rows = [sheet.max_row for sheet in workbook.worksheets]
    finally:
        workbook.close()
    return None if any(row is None for row in rows) else sum(rows)


def _groups(loaded: list[Document]) -> list[list[Document]]:
    """The records in runs of about GROUP_CHARS characters (a longer record alone)."""
    groups: list[list[Document]] = [[]]
    size = 0
    for document in loaded:
        if groups[-1] and size + len(document.content) > GROUP_CHARS:
            groups.append([])
            size = 0
        groups[-1].append(document)
        size += len(document.content)
    return groups if groups[0] else []


def _public_reason(error: Exception, item: Pending) -> str:
    """What a client is told about a failure: the kind of problem, never the exception's text (paths, SQL,
    addresses); the detail goes to the log."""
    kind = PurePath(item.file_name).suffix.lstrip(".") or "web page"
    if isinstance(error, EmptyDocument):
        return "no text found in the document"
    if isinstance(error, UnsupportedFileType):
        return "this kind of file is not supported"
    if isinstance(error, DocumentTooLarge):
        return "the document is too large (or unpacks to too much)"
    if isinstance(error, CorruptDocument):
        return f"the file could not be read as {kind}: it is damaged, or not a {kind} file"
    if isinstance(error, SourceNotAllowed):
        return "the web page's address is not in a network this server may fetch from"
    if isinstance(error, KnowledgeError) and item.url is not None:
        return "the web page could not be fetched (no answer in time, or an error status)"
    return INTERNAL


def _too_many_records(cap: int) -> str:
    return f"the document has more than {cap} records (rows, lines, items or pages), the most one document may have"


def _dataset_full(limits: DatasetLimits) -> str:
    return f"the dataset is full: its documents may have {limits.max_dataset_chunks} chunks in all"


def _literal(vector: np.ndarray[Any, Any]) -> str:
    return "[" + ",".join(f"{value:.8g}" for value in vector.tolist()) + "]"


def _json(value: Any) -> dict[str, Any]:
    """A JSON column read through a text query: already decoded on PostgreSQL, a string elsewhere."""
    decoded = json.loads(value) if isinstance(value, str) else value
    return dict(decoded) if isinstance(decoded, Mapping) else {}


def _read_file(path: Path | None, max_bytes: int) -> bytes:
    assert path is not None  # a Pending has data, a path or a url
    with path.open("rb") as file:
        return file.read(max_bytes + 1)  # the loader refuses it when it is over


def _now() -> int:
    return int(time.time())
