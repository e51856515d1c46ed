"""A knowledge base: documents ingested into a BM25 index and a vector store, searched by keyword, vector
or both.

Ingestion is a job per document: queued, parsing, chunking, embedding, indexing, then ready, or failed with
a reason. A batch is indexed together and saved once; a document's chunks become visible only when its
manifest row turns ready, and a crash mid-ingestion is cleaned up when the base is opened again. Analysis and
saving run in worker threads, never on the event loop.

`chunk_documents` and `retriever_for` are the chunking and retrieval of every knowledge base, shared with the
platform's datasets, which keep their chunks in the platform database instead of a folder.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.components import Embedder, Retriever, Splitter
from plait.knowledge.config import ChunkingConfig, KnowledgeBaseConfig, Mode, RetrievalConfig
from plait.knowledge.errors import EmptyDocument, KnowledgeError
from plait.knowledge.index.bm25 import BM25Index
from plait.knowledge.index.vectors import ExactVectorStore, VectorStore
from plait.knowledge.manifest import TERMINAL, DocumentRecord, Manifest, Status
from plait.knowledge.retrievers import HybridRetriever, KeywordRetriever, VectorRetriever
from plait.schema import Document

Progress = Callable[[DocumentRecord], Awaitable[None] | None]
_EMBED_BATCH = 64
INTERRUPTED = "ingestion was interrupted before it finished; add the document again"


@dataclass(slots=True)
class _Job:
    record: DocumentRecord
    load: Callable[[], Awaitable[list[Document]]]
    chunks: list[Document] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)


class KnowledgeBase:
    """Open with ``await KnowledgeBase.open(folder, config)``; close with ``await kb.close()``."""

    def __init__(
        self,
        root: Path,
        config: KnowledgeBaseConfig,
        *,
        embedder: Embedder,
        vector_store: VectorStore | None = None,
        keywords: BM25Index | None = None,
    ) -> None:
        self.root = root
        self.config = config
        self.embedder = embedder
        self.vectors = vector_store or ExactVectorStore(root / "vectors", dimension=embedder.dimension)
        self.keywords = keywords or BM25Index()
        self.manifest = Manifest(root / "manifest.sqlite")
        self._hidden: set[str] = set()  # chunk ids indexed but not yet committed ready

    @classmethod
    async def open(
        cls,
        root: str | Path,
        config: KnowledgeBaseConfig | None = None,
        *,
        embedder: Embedder | None = None,
        vector_store: VectorStore | None = None,
    ) -> KnowledgeBase:
        """Open (or create, when ``config`` is given) the base in ``root`` and clean up interrupted jobs."""
        folder = Path(root)
        config = await asyncio.to_thread(_config_in, folder, config)
        keywords = await asyncio.to_thread(_keywords_in, folder)
        embedder = embedder or embedder_for(config.embedder)
        base = cls(folder, config, embedder=embedder, vector_store=vector_store, keywords=keywords)
        await base._recover()
        return base

    async def close(self) -> None:
        await self.vectors.close()
        self.manifest.close()

    # -- ingestion ------------------------------------------------------------------------------------
    async def add_files(
        self, paths: Sequence[str | Path], *, on_progress: Progress | None = None
    ) -> list[DocumentRecord]:
        """Ingest files; each gets a record, and one bad file does not stop the others."""
        from plait.knowledge.loaders import load_file

        jobs = []
        for path in paths:
            file = Path(path)
            source, digest, size = await asyncio.to_thread(_file_identity, file)
            record = self._record(source, file.name, digest, size=size)
            jobs.append(_Job(record, functools.partial(load_file, file)))
        return await self._ingest(jobs, on_progress)

    async def add_bytes(
        self, data: bytes, name: str, *, document_id: str | None = None, on_progress: Progress | None = None
    ) -> DocumentRecord:
        from plait.knowledge.loaders import load_bytes

        record = self._record(name, name, _digest(data), size=len(data), document_id=document_id)
        (done,) = await self._ingest([_Job(record, lambda: load_bytes(data, name))], on_progress)
        return done

    async def add_documents(
        self, documents: Sequence[Document], *, on_progress: Progress | None = None
    ) -> list[DocumentRecord]:
        """Ingest documents already in memory (each keeps its id), e.g. a corpus for evaluation."""
        jobs = []
        for document in documents:
            data = document.content.encode()
            name = str(document.metadata.get("title") or document.metadata.get("file_name") or document.id)
            record = self._record(document.id, name, _digest(data), size=len(data), document_id=document.id)

            async def load(document: Document = document) -> list[Document]:
                return [document]

            jobs.append(_Job(record, load))
        return await self._ingest(jobs, on_progress)

    async def delete_document(self, document_id: str) -> bool:
        """Remove a document from every index; False when there was no such document."""
        if await self.manifest.get(document_id) is None:
            return False
        chunk_ids = await self.manifest.chunk_ids(document_id)
        await self._unindex(chunk_ids)
        await self.manifest.delete(document_id)
        return True

    async def documents(self) -> list[DocumentRecord]:
        return await self.manifest.records()

    async def document(self, document_id: str) -> DocumentRecord | None:
        return await self.manifest.get(document_id)

    def _record(
        self, source: str, name: str, digest: str, *, size: int, document_id: str | None = None
    ) -> DocumentRecord:
        doc_id = document_id or hashlib.sha256(source.encode()).hexdigest()[:24]
        return DocumentRecord(id=doc_id, name=name, source=source, status="queued", content_hash=digest, size=size)

    async def _ingest(self, jobs: list[_Job], on_progress: Progress | None) -> list[DocumentRecord]:
        for job in jobs:
            previous = await self.manifest.get(job.record.id)
            if previous is not None:
                job.record.created_at = previous.created_at
                if previous.status == "ready":
                    job.replaced = await self.manifest.chunk_ids(job.record.id, staged=False)
            await self.manifest.upsert(job.record)
            await _notify(on_progress, job.record)
        live = [job for job in jobs if await self._prepare(job, on_progress)]
        if live:
            try:
                await self._embed_and_index(live, on_progress)
            except Exception as exc:
                for job in live:
                    await self._fail(job, f"indexing failed: {exc}", on_progress)
        return [job.record for job in jobs]

    async def _prepare(self, job: _Job, on_progress: Progress | None) -> bool:
        """Parse and chunk one document; failures are recorded on it, not raised."""
        try:
            await self._advance(job, "parsing", 0.1, on_progress)
            loaded = await job.load()
            await self._advance(job, "chunking", 0.2, on_progress)
            chunks = await self._chunk(job.record, loaded)
            if not chunks:
                raise EmptyDocument(f"{job.record.name}: no text to index")
        except KnowledgeError as exc:
            await self._fail(job, str(exc), on_progress)
            return False
        except Exception as exc:
            await self._fail(job, f"{type(exc).__name__}: {exc}", on_progress)
            return False
        job.chunks = chunks
        job.record.chunk_count = len(chunks)
        job.record.char_count = sum(len(c.content) for c in chunks)
        await self.manifest.stage_chunks(job.record.id, [c.id for c in chunks])
        return True

    async def _chunk(self, record: DocumentRecord, loaded: list[Document]) -> list[Document]:
        return await chunk_documents(self.config.chunking, record.id, record.name, loaded)

    async def _embed_and_index(self, jobs: list[_Job], on_progress: Progress | None) -> None:
        chunks = [chunk for job in jobs for chunk in job.chunks]
        owner = {chunk.id: job for job in jobs for chunk in job.chunks}
        for job in jobs:
            await self._advance(job, "embedding", 0.3, on_progress)
        vectors: list[list[float]] = []
        embedded: dict[str, int] = {}
        for start in range(0, len(chunks), _EMBED_BATCH):
            batch = chunks[start : start + _EMBED_BATCH]
            vectors.extend(await self.embedder.embed([c.content for c in batch]))
            touched: dict[str, _Job] = {}
            for chunk in batch:
                job = owner[chunk.id]
                embedded[job.record.id] = embedded.get(job.record.id, 0) + 1
                touched[job.record.id] = job
            for job in touched.values():
                job.record.progress = 0.3 + 0.6 * embedded[job.record.id] / len(job.chunks)
                await _notify(on_progress, job.record)
        for job in jobs:
            await self._advance(job, "indexing", 0.9, on_progress)
        ids = [c.id for c in chunks]
        self._hidden.update(ids)
        replaced = [chunk_id for job in jobs for chunk_id in job.replaced if chunk_id not in owner]
        await self.vectors.upsert(
            ids, vectors, contents=[c.content for c in chunks], metadata=[c.metadata for c in chunks]
        )
        await asyncio.to_thread(self.keywords.add, chunks)  # the analyzer (jieba) is CPU work
        await self._unindex(replaced, save=False)
        await asyncio.to_thread(self.keywords.save, self.root / "bm25")
        for job in jobs:
            await self.manifest.commit_version(job.record, job.replaced)
            job.record.status, job.record.progress, job.record.error = "ready", 1.0, ""
            await _notify(on_progress, job.record)
        self._hidden.difference_update(ids)

    async def _unindex(self, chunk_ids: Sequence[str], *, save: bool = True) -> None:
        if not chunk_ids:
            return
        await self.vectors.delete(list(chunk_ids))
        self.keywords.delete(chunk_ids)
        if save:
            await asyncio.to_thread(self.keywords.save, self.root / "bm25")

    async def _advance(self, job: _Job, status: Status, progress: float, on_progress: Progress | None) -> None:
        job.record.status, job.record.progress = status, progress
        await self.manifest.set_status(job.record.id, status, progress=progress)
        await _notify(on_progress, job.record)

    async def _fail(self, job: _Job, reason: str, on_progress: Progress | None) -> None:
        staged = await self.manifest.chunk_ids(job.record.id, staged=True)
        await self._unindex([c for c in staged if c not in job.replaced])
        self._hidden.difference_update(staged)
        await self.manifest.drop_staged(job.record.id)
        status: Status = "ready" if job.replaced else "failed"
        job.record.status, job.record.error = status, reason
        await self.manifest.set_status(job.record.id, status, progress=1.0 if job.replaced else 0.0, error=reason)
        await _notify(on_progress, job.record)

    async def _recover(self) -> None:
        """Documents left mid-ingestion by a crash: remove their staged chunks and mark them failed."""
        for record in await self.manifest.records():
            if record.status in TERMINAL:
                continue
            staged = await self.manifest.chunk_ids(record.id, staged=True)
            await self._unindex(staged)
            await self.manifest.drop_staged(record.id)
            kept = await self.manifest.chunk_ids(record.id)
            await self.manifest.set_status(
                record.id, "ready" if kept else "failed", progress=1.0 if kept else 0.0, error=INTERRUPTED
            )

    # -- search ---------------------------------------------------------------------------------------
    async def search(
        self,
        query: str,
        *,
        mode: Mode | None = None,
        top_k: int | None = None,
        filters: dict[str, Any] | None = None,
        score_threshold: float | None = None,
    ) -> list[Document]:
        """The best chunks for ``query``; only chunks of ready documents are returned."""
        settings = self.config.retrieval
        wanted = top_k or settings.top_k
        hidden = self._hidden
        retriever = self._retriever(mode or settings.mode)
        options: dict[str, Any] = {"top_k": wanted + len(hidden), "filters": filters}
        threshold = score_threshold if score_threshold is not None else settings.score_threshold
        if threshold is not None:
            options["score_threshold"] = threshold
        found = await retriever.retrieve(query, **options)
        return [d for d in found if d.id not in hidden][:wanted]

    def _retriever(self, mode: Mode) -> Retriever:
        candidates = self.config.retrieval.candidates
        return retriever_for(
            self.config.retrieval,
            mode,
            keyword=KeywordRetriever(self.keywords, candidates=candidates),
            vector=VectorRetriever(self.vectors, self.embedder, candidates=candidates),
        )


async def chunk_documents(
    chunking: ChunkingConfig, document_id: str, name: str, loaded: Sequence[Document], *, first: int = 0
) -> list[Document]:
    """The chunks of a document from what its loader produced, numbered from ``first``: ids
    ``<document_id>#<n>`` and metadata ``document_id``, ``document_name`` and ``chunk_index`` besides what the
    loader and splitter recorded. Splitting runs in a thread. A long document may be chunked a few loaded parts
    at a time (each call going on from the last one's count), since every part is split on its own."""
    splitter = _splitter(chunking, str(loaded[0].metadata.get("file_type", "")) if loaded else "")
    pieces = await splitter.split(loaded) if splitter is not None else loaded
    chunks = []
    for index, piece in enumerate((p for p in pieces if p.content.strip()), start=first):
        metadata = {**piece.metadata, "document_id": document_id, "document_name": name, "chunk_index": index}
        chunks.append(Document(id=f"{document_id}#{index}", content=piece.content, metadata=metadata))
    return chunks


def retriever_for(settings: RetrievalConfig, mode: Mode, *, keyword: Retriever, vector: Retriever) -> Retriever:
    """The retriever of a search mode: one side alone, or both fused as the settings say."""
    if mode == "keyword":
        return keyword
    if mode == "vector":
        return vector
    return HybridRetriever(
        keyword,
        vector,
        fusion=settings.fusion,
        rrf_k=settings.rrf_k,
        weights=settings.weights,
        candidates=settings.candidates,
    )


def _config_in(folder: Path, config: KnowledgeBaseConfig | None) -> KnowledgeBaseConfig:
    config_file = folder / "config.json"
    if config is None:
        if not config_file.exists():
            raise KnowledgeError(f"no knowledge base in {folder}")
        return KnowledgeBaseConfig.load(config_file)
    folder.mkdir(parents=True, exist_ok=True)
    config.save(config_file)
    return config


def _keywords_in(folder: Path) -> BM25Index:
    return BM25Index.load(folder / "bm25") if (folder / "bm25").exists() else BM25Index()


def _file_identity(file: Path) -> tuple[str, str, int]:
    """The resolved path, content digest and size of a file (empty for a missing file: the loader reports it)."""
    if not file.is_file():
        return str(file.resolve()), "", 0
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return str(file.resolve()), digest.hexdigest(), file.stat().st_size


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _splitter(config: ChunkingConfig, file_type: str) -> Splitter | None:
    from plait.knowledge.splitters import MarkdownSplitter, ParentChildSplitter, RecursiveSplitter, SentenceSplitter

    options: dict[str, Any] = {
        "chunk_size": config.chunk_size,
        "chunk_overlap": config.chunk_overlap,
        "collapse_spaces": config.remove_extra_spaces,
        "remove_urls_emails": config.remove_urls_emails,
    }
    strategy = config.strategy
    if strategy == "none":
        return None
    if strategy == "auto":
        strategy = "markdown" if file_type in ("md", "markdown", "html", "htm") else "recursive"
    if strategy == "markdown":
        return MarkdownSplitter(**options)
    if strategy == "sentence":
        return SentenceSplitter(**options)
    if strategy == "parent_child":
        return ParentChildSplitter(
            child=RecursiveSplitter(**{**options, "chunk_size": max(16, config.chunk_size // 4)})
        )
    return RecursiveSplitter(**options)


def embedder_for(embedder_id: str) -> Embedder:
    """The embedder a knowledge base config names: ``local/all-minilm-l6-v2`` runs offline."""
    if embedder_id == "local/all-minilm-l6-v2":
        from plait.embeddings import LocalEmbedder

        return LocalEmbedder()
    raise KnowledgeError(f"unknown embedder {embedder_id!r}; available offline: local/all-minilm-l6-v2")


async def _notify(on_progress: Progress | None, record: DocumentRecord) -> None:
    if on_progress is not None:
        result = on_progress(record)
        if result is not None:
            await result
