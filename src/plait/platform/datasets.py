"""Knowledge datasets and their documents, as the Coze dataset and document APIs manage them, over the
knowledge engine; the chunks and their indexes are `plait.platform.dataset_indexes`'s business.

The database rows are the record a client sees (names, status, progress, counts) and hold the chunks every
worker searches. Uploads are checked and recorded with status 0 (processing) inside the request, leased to the
accepting process; the ingestion itself runs afterwards as an asyncio task of that process, which writes
progress, then status 1 (done) or 9 (failed, with the reason) back to the row. Ingestion does not resume: a
document whose process stopped is failed (at shutdown, or by any worker once its lease runs out), since its
uploaded bytes were held only in memory; upload it again.

For the chat runtime, retrieval over a bot's datasets::

    from plait.platform.dataset_indexes import DatasetIndexes
    from plait.platform.datasets import search_datasets

    indexes: DatasetIndexes = services.datasets   # one per process (`plait.platform.services`)
    chunks = await search_datasets(uow, workspace_id, dataset_ids, query, indexes=indexes, top_k=5, strategy=0)

Each chunk is a `plait.schema.Document` with ``score`` and metadata ``dataset_id``, ``dataset_name``,
``document_id`` and ``document_name`` (besides what the loaders and splitters record; a hybrid search adds each
side's ``keyword_score`` and ``vector_score``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import ipaddress
import socket
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Generic, TypeVar

import httpx

from plait.knowledge.config import ChunkingConfig, KnowledgeBaseConfig, Mode
from plait.platform.access import WRITER_ROLES, Principal
from plait.platform.dataset_indexes import (
    DONE,
    PROCESSING,
    DatasetIndexes,
    DatasetLimits,
    IngestBatch,
    Pending,
    count_records,
)
from plait.platform.errors import BodyTooLarge, InvalidParams, NotFound
from plait.schema import Document
from plait.store import UnitOfWork
from plait.store.repositories.content import DocumentTotals
from plait.store.tables import Dataset, DatasetDocument

LOCAL_FILE, WEB_PAGE, FILE_ID = 0, 1, 5  # document_source / source_type
TEXT = 0  # format_type: text; tables (1) and images (2) have no engine behind them yet
SEARCH_MODES: dict[int, Mode] = {0: "hybrid", 1: "vector", 20: "keyword"}  # Coze search_strategy
DATASET_NAME_LENGTH = 100
DOCUMENT_NAME_LENGTH = 255


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetRecord:
    """A dataset as clients see it, with its documents' totals."""

    id: str
    workspace_id: str
    name: str
    description: str
    status: int
    format_type: int
    chunk_strategy: dict[str, Any] | None
    created_at: int
    updated_at: int
    documents: int = 0
    slices: int = 0
    bytes: int = 0
    hits: int = 0

    @classmethod
    def of(cls, dataset: Dataset, totals: DocumentTotals | None = None) -> DatasetRecord:
        totals = totals or DocumentTotals(0, 0, 0, 0)
        return cls(
            id=dataset.id,
            workspace_id=dataset.workspace_id,
            name=dataset.name,
            description=dataset.description,
            status=dataset.status,
            format_type=dataset.format_type,
            chunk_strategy=dataset.config.get("chunk_strategy"),
            created_at=dataset.created_at,
            updated_at=dataset.updated_at,
            documents=totals.documents,
            slices=totals.slices,
            bytes=totals.bytes,
            hits=totals.hits,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentRecord:
    """A document as clients see it: its source, its status (0 processing, 1 done, 9 failed) and progress."""

    id: str
    name: str
    format_type: int
    status: int
    progress: int
    error: str  # why it failed, in words for the client
    size: int
    char_count: int
    slice_count: int
    hit_count: int
    source_type: int
    type: str  # the file extension, or "web"
    url: str
    update_type: int
    update_interval: int
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, document: DatasetDocument) -> DocumentRecord:
        return cls(
            id=document.id,
            name=document.name,
            format_type=document.format_type,
            status=document.status,
            progress=document.progress,
            error=document.error or "",
            size=document.size,
            char_count=document.char_count,
            slice_count=document.slice_count,
            hit_count=document.hit_count,
            source_type=document.source.get("document_source", 0),
            type=document.source.get("type", ""),
            url=document.source.get("url", ""),
            update_type=document.update_rule.get("update_type", 0),
            update_interval=document.update_rule.get("update_interval", 0),
            created_at=document.created_at,
            updated_at=document.updated_at,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkRecord:
    """One chunk of a document as its owner reads it: where it sits in the document and its text."""

    id: str
    position: int  # from 0, in document order
    content: str

    @property
    def chars(self) -> int:
        return len(self.content)


R = TypeVar("R")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordPage(Generic[R]):
    items: list[R]
    total: int


MAX_BATCH = 10  # documents per create call, as Coze allows
MAX_IDS = 100  # document ids per delete or progress call
MAX_CHUNK_PAGE = 100  # chunks per page of a document's chunks
# The recursive splitter cuts at paragraphs, then lines, before anything finer: these two separators are
# what it honours. Any other would be silently ignored, so it is refused.
SEPARATORS = ("\n\n", "\n")
MAX_TOKENS = (100, 2000)
RESOLVE_SECONDS = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkStrategy:
    """Coze's ``chunk_strategy``: 0 automatic (the engine's defaults), 1 custom."""

    chunk_type: int = 0
    separator: str | None = None
    max_tokens: int | None = None
    remove_extra_spaces: bool = False
    remove_urls_emails: bool = False

    def normalised(self) -> dict[str, Any]:
        """The strategy as stored on the dataset: what matters for its chunk type, defaults filled in."""
        if self.chunk_type == 0:
            return {"chunk_type": 0}
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDocument:
    """One of ``document_bases``: a name and exactly one source (base64 bytes, an uploaded file, a URL)."""

    name: str
    file_base64: str | None = None
    file_type: str | None = None
    web_url: str | None = None
    source_file_id: str | None = None
    update_rule: dict[str, Any] = field(default_factory=dict)


# -- datasets ----------------------------------------------------------------------------------------------
def _check_name(name: str, limit: int, what: str = "name") -> str:
    name = name.strip()
    if not name:
        raise InvalidParams(f"{what}: must not be empty")
    if len(name) > limit:
        raise InvalidParams(f"{what}: at most {limit} characters")
    return name


async def _check_icon(uow: UnitOfWork, principal: Principal, icon_file_id: str | None) -> None:
    if icon_file_id and await uow.files.get(principal.workspace_id, icon_file_id) is None:
        raise NotFound(f"file {icon_file_id} not found")


async def _dataset(uow: UnitOfWork, principal: Principal, dataset_id: str) -> Dataset:
    dataset = await uow.datasets.get(principal.workspace_id, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} not found")
    return dataset


async def create_dataset(
    uow: UnitOfWork,
    principal: Principal,
    *,
    space_id: str,
    name: str,
    description: str,
    format_type: int,
    icon_file_id: str | None,
    embedder: str,
    pgvector: bool,
) -> DatasetRecord:
    """A dataset whose vectors come from ``embedder`` for good, and live in pgvector when ``pgvector`` (else
    in its chunk rows): changing either later affects only new datasets."""
    principal.require_writer()
    principal.require_workspace(space_id)
    if format_type != TEXT:
        raise InvalidParams(f"format_type: only text datasets (0) are supported, not {format_type}")
    await _check_icon(uow, principal, icon_file_id)
    row = Dataset(
        workspace_id=space_id,
        name=_check_name(name, DATASET_NAME_LENGTH),
        description=description,
        format_type=format_type,
        icon_file_id=icon_file_id,
        config={"embedder": embedder, "vectors": "pgvector" if pgvector else "rows"},
    )
    return DatasetRecord.of(await uow.datasets.add(row))


async def list_datasets(
    uow: UnitOfWork,
    principal: Principal,
    *,
    space_id: str,
    name: str | None,
    format_type: int | None,
    page_num: int,
    page_size: int,
) -> RecordPage[DatasetRecord]:
    """A page of datasets with their document totals."""
    principal.require_workspace(space_id)
    page = await uow.datasets.search(
        space_id, name=name, format_type=format_type, page_num=page_num, page_size=page_size
    )
    totals = await uow.documents.totals(space_id, [dataset.id for dataset in page.items])
    return RecordPage(items=[DatasetRecord.of(d, totals.get(d.id)) for d in page.items], total=page.total)


def can_edit(principal: Principal) -> bool:
    return principal.role in WRITER_ROLES


async def update_dataset(
    uow: UnitOfWork, principal: Principal, dataset_id: str, *, name: str, description: str, icon_file_id: str | None
) -> DatasetRecord:
    """Coze replaces all three fields: one left out goes back to its default."""
    principal.require_writer()
    await _dataset(uow, principal, dataset_id)
    await _check_icon(uow, principal, icon_file_id)
    dataset = await uow.datasets.update(
        principal.workspace_id,
        dataset_id,
        name=_check_name(name, DATASET_NAME_LENGTH),
        description=description,
        icon_file_id=icon_file_id,
    )
    assert dataset is not None  # read above in this transaction
    return DatasetRecord.of(dataset)


async def delete_dataset(uow: UnitOfWork, principal: Principal, dataset_id: str, *, indexes: DatasetIndexes) -> None:
    """Delete the row and its documents' and chunks' rows (the database cascades); once that is committed, this
    process stops the dataset's ingestions and drops its index."""
    principal.require_writer()
    if not await uow.datasets.delete(principal.workspace_id, dataset_id):
        raise NotFound(f"dataset {dataset_id} not found")
    uow.after_commit(lambda: indexes.drop(dataset_id))


async def dataset_progress(
    uow: UnitOfWork, principal: Principal, dataset_id: str, document_ids: list[str]
) -> list[DocumentRecord]:
    _check_ids(document_ids)
    await _dataset(uow, principal, dataset_id)
    found = {d.id: d for d in await uow.documents.many(principal.workspace_id, document_ids)}
    missing = [i for i in document_ids if i not in found or found[i].dataset_id != dataset_id]
    if missing:
        raise NotFound(f"documents not found in dataset {dataset_id}: {', '.join(missing)}")
    return [DocumentRecord.of(found[i]) for i in document_ids]


# -- documents ---------------------------------------------------------------------------------------------
def chunking_for(strategy: ChunkStrategy) -> ChunkingConfig:
    """The engine's chunking for a Coze strategy; what it cannot honour is refused, not ignored."""
    if strategy.chunk_type == 0:
        return ChunkingConfig()
    if strategy.chunk_type != 1:
        raise InvalidParams(f"chunk_strategy.chunk_type: 0 (automatic) or 1 (custom), not {strategy.chunk_type}")
    low, high = MAX_TOKENS
    if strategy.max_tokens is None or not low <= strategy.max_tokens <= high:
        raise InvalidParams(f"chunk_strategy.max_tokens: a custom strategy needs max_tokens in {low}..{high}")
    if strategy.separator not in SEPARATORS:
        raise InvalidParams(
            f"chunk_strategy.separator: {strategy.separator!r} is not supported; the splitter cuts at paragraphs "
            "('\\n\\n') and lines ('\\n'), then sentences, so only those two can be asked for"
        )
    return ChunkingConfig(
        strategy="recursive",
        chunk_size=strategy.max_tokens,
        remove_extra_spaces=strategy.remove_extra_spaces,
        remove_urls_emails=strategy.remove_urls_emails,
    )


def _settled_strategy(dataset: Dataset, asked: ChunkStrategy | None) -> ChunkStrategy:
    """The dataset's strategy: set by its first upload and fixed after that, as in Coze; a later upload
    may repeat it or leave it out, but asking for another one is an error rather than silently ignored."""
    stored = dataset.config.get("chunk_strategy")
    if stored is None:
        strategy = asked or ChunkStrategy()
        chunking_for(strategy)
        return strategy
    if asked is not None and asked.normalised() != stored:
        raise InvalidParams(
            f"chunk_strategy: this dataset already chunks with {stored}; the strategy is fixed by the first upload"
        )
    return ChunkStrategy(**stored)


def _check_ids(document_ids: list[str]) -> None:
    if not 1 <= len(document_ids) <= MAX_IDS:
        raise InvalidParams(f"document_ids: give 1 to {MAX_IDS} document ids")


async def _check_web_url(url: str, networks: tuple[str, ...]) -> None:
    """A web page is fetched only from the networks an admin allowed (none by default): a server that fetches
    any URL it is handed can be made to reach the networks behind it. Every address the host has now must be
    in one of them; the loader checks again, address by address, when it fetches."""
    if not networks:
        raise InvalidParams(
            "web_url: fetching web pages is off on this server; an admin allows networks with "
            "PLAIT_WEB_URL_ALLOWED_NETWORKS. Upload the page as a file instead"
        )
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidParams(f"web_url: not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidParams("web_url: an http or https URL with a host")
    allowed = [ipaddress.ip_network(network, strict=False) for network in networks]
    for address in await _addresses(parsed.host):
        if not any(address in network for network in allowed):
            raise InvalidParams(
                f"web_url: {parsed.host} is at {address}, outside the networks this server may fetch from"
            )


async def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        async with asyncio.timeout(RESOLVE_SECONDS):
            found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        raise InvalidParams(f"web_url: cannot resolve the host {host}") from None
    return [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in found]


def _file_type(value: str, where: str) -> str:
    from plait.knowledge.loaders import SUPPORTED_EXTENSIONS

    kind = value.strip().lower().lstrip(".")
    if f".{kind}" not in SUPPORTED_EXTENSIONS:
        known = ", ".join(extension[1:] for extension in SUPPORTED_EXTENSIONS)
        raise InvalidParams(f"{where}: file type {value!r} is not supported; supported: {known}")
    return kind


def _decode(text: str, where: str, max_bytes: int) -> bytes:
    if len(text) > (max_bytes + 2) // 3 * 4 + 4:  # refuse before decoding what is clearly too big
        raise BodyTooLarge(f"{where}: the file is larger than {max_bytes} bytes")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParams(f"{where}: not valid base64") from None
    if not data:
        raise InvalidParams(f"{where}: the file is empty")
    if len(data) > max_bytes:
        raise BodyTooLarge(f"{where}: the file is larger than {max_bytes} bytes")
    return data


def _check_update_rule(rule: dict[str, Any], where: str) -> dict[str, Any]:
    if rule.get("update_type", 0) != 0:
        raise InvalidParams(f"{where}.update_type: automatic updates of web pages are not supported; use 0")
    return {"update_type": 0, "update_interval": rule.get("update_interval") or 0}


async def _accept(
    uow: UnitOfWork,
    principal: Principal,
    dataset: Dataset,
    new: NewDocument,
    where: str,
    *,
    data_dir: Path,
    max_bytes: int,
    limits: DatasetLimits,
) -> tuple[DatasetDocument, dict[str, Any]]:
    """The row for one new document and what its ingestion needs (fields of `Pending` but the id)."""
    name = _check_name(new.name, DOCUMENT_NAME_LENGTH, f"{where}.name")
    sources = [s for s in (new.file_base64, new.web_url, new.source_file_id) if s is not None]
    if len(sources) != 1:
        raise InvalidParams(f"{where}.source_info: give exactly one of file_base64, web_url or source_file_id")
    row = DatasetDocument(
        workspace_id=dataset.workspace_id,
        dataset_id=dataset.id,
        name=name,
        status=PROCESSING,
        progress=0,
        update_rule=_check_update_rule(new.update_rule, where),
    )
    if new.file_base64 is not None:
        kind = _file_type(new.file_type or "", f"{where}.source_info.file_type")
        data = _decode(new.file_base64, f"{where}.source_info.file_base64", max_bytes)
        records = await asyncio.to_thread(count_records, data, kind)
        if records is not None and records > limits.max_document_rows:
            raise InvalidParams(
                f"{where}.source_info.file_base64: the file has {records} records (rows, lines or items); one "
                f"document may have at most {limits.max_document_rows}"
            )
        row.source, row.size = {"type": kind, "document_source": LOCAL_FILE}, len(data)
        return row, {"name": name, "file_name": f"document.{kind}", "data": data}
    if new.source_file_id is not None:
        file = await uow.files.get(principal.workspace_id, new.source_file_id)
        if file is None:
            raise NotFound(f"{where}.source_info.source_file_id: file {new.source_file_id} not found")
        kind = _file_type(PurePosixPath(file.name).suffix, f"{where}.source_info.source_file_id ({file.name})")
        path = data_dir / file.path
        if not await asyncio.to_thread(path.is_file):  # this process ingests it, from its own disk
            raise InvalidParams(
                f"{where}.source_info.source_file_id: the bytes of file {file.id} are not on this server (an upload "
                "is kept on the disk of the server that received it); upload it again, or send it as file_base64"
            )
        row.source = {"type": kind, "document_source": FILE_ID, "file_id": file.id}
        row.size = file.bytes
        return row, {"name": name, "file_name": f"document.{kind}", "path": path}
    assert new.web_url is not None
    await _check_web_url(new.web_url, limits.web_networks)
    row.source = {"type": "web", "document_source": WEB_PAGE, "url": new.web_url}
    return row, {"name": name, "file_name": name, "url": new.web_url}


async def create_documents(
    uow: UnitOfWork,
    principal: Principal,
    dataset_id: str,
    documents: list[NewDocument],
    *,
    chunk_strategy: ChunkStrategy | None,
    format_type: int | None,
    data_dir: Path,
    max_bytes: int,
    limits: DatasetLimits,
    indexes: DatasetIndexes,
) -> list[DocumentRecord]:
    """Check and record the documents (status processing, leased to this process); their ingestion starts once
    that is committed, so it never looks for a row that is not there."""
    principal.require_writer()
    dataset = await _dataset(uow, principal, dataset_id)
    if not 1 <= len(documents) <= MAX_BATCH:
        raise InvalidParams(f"document_bases: give 1 to {MAX_BATCH} documents")
    if format_type not in (None, TEXT):
        raise InvalidParams(f"format_type: only text documents (0) are supported, not {format_type}")
    strategy = _settled_strategy(dataset, chunk_strategy)
    accepted = [
        await _accept(
            uow, principal, dataset, new, f"document_bases[{i}]", data_dir=data_dir, max_bytes=max_bytes, limits=limits
        )
        for i, new in enumerate(documents)
    ]
    if "chunk_strategy" not in dataset.config:
        settled = {**dataset.config, "chunk_strategy": strategy.normalised()}
        await uow.datasets.update(principal.workspace_id, dataset.id, config=settled)
    rows, items = [], []
    for row, needs in accepted:
        indexes.lease(row)
        rows.append(await uow.documents.add(row))
        items.append(Pending(document_id=row.id, **needs))
    config = KnowledgeBaseConfig(name=dataset.id, embedder=dataset.config["embedder"], chunking=chunking_for(strategy))
    pgvector = dataset.config.get("vectors") == "pgvector"
    batch = IngestBatch(dataset_id=dataset.id, config=config, pgvector=pgvector, limits=limits, items=items)
    uow.after_commit(lambda: indexes.submit(batch))
    return [DocumentRecord.of(row) for row in rows]


async def list_documents(
    uow: UnitOfWork, principal: Principal, dataset_id: str, *, page_num: int, page_size: int
) -> RecordPage[DocumentRecord]:
    await _dataset(uow, principal, dataset_id)
    page = await uow.documents.for_dataset(principal.workspace_id, dataset_id, page_num=page_num, page_size=page_size)
    return RecordPage(items=[DocumentRecord.of(row) for row in page.items], total=page.total)


async def list_chunks(
    uow: UnitOfWork, principal: Principal, dataset_id: str, document_id: str, *, page_num: int, page_size: int
) -> RecordPage[ChunkRecord]:
    """A page of a document's chunks in position order; the dataset and the document must both be in the
    principal's workspace, and the document in that dataset (else 4200)."""
    if page_num < 1 or not 1 <= page_size <= MAX_CHUNK_PAGE:
        raise InvalidParams(f"page_num: at least 1; page_size: 1 to {MAX_CHUNK_PAGE}")
    await _dataset(uow, principal, dataset_id)
    document = await uow.documents.get(principal.workspace_id, document_id)
    if document is None or document.dataset_id != dataset_id:
        raise NotFound(f"document {document_id} not found in dataset {dataset_id}")
    page = await uow.chunks.for_document(document_id, page_num=page_num, page_size=page_size)
    chunks = [ChunkRecord(id=row.id, position=row.position, content=row.content) for row in page.items]
    return RecordPage(items=chunks, total=page.total)


async def update_document(
    uow: UnitOfWork, principal: Principal, document_id: str, *, name: str | None, update_rule: dict[str, Any] | None
) -> DocumentRecord:
    principal.require_writer()
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _check_name(name, DOCUMENT_NAME_LENGTH, "document_name")
    if update_rule is not None:
        values["update_rule"] = _check_update_rule(update_rule, "update_rule")
    document = await uow.documents.update(principal.workspace_id, document_id, **values)
    if document is None:
        raise NotFound(f"document {document_id} not found")
    return DocumentRecord.of(document)


async def delete_documents(uow: UnitOfWork, principal: Principal, document_ids: list[str]) -> None:
    """Delete the documents with their chunks, and move their datasets' index versions so every worker drops
    them from its indexes before its next search."""
    principal.require_writer()
    _check_ids(document_ids)
    found = await uow.documents.many(principal.workspace_id, document_ids)
    missing = sorted(set(document_ids) - {document.id for document in found})
    if missing:
        raise NotFound(f"documents not found: {', '.join(missing)}")
    removed: defaultdict[str, int] = defaultdict(int)
    for dataset_id, status, chunks in await uow.documents.delete_many(principal.workspace_id, document_ids):
        removed[dataset_id] += chunks if status == DONE else 0
    for dataset_id, chunks in removed.items():
        await uow.datasets.remove_chunks(dataset_id, chunks)


# -- retrieval ---------------------------------------------------------------------------------------------
async def search_datasets(
    uow: UnitOfWork,
    workspace_id: str,
    dataset_ids: list[str],
    query: str,
    *,
    indexes: DatasetIndexes,
    top_k: int = 5,
    strategy: int = 0,
) -> list[Document]:
    """The best ``top_k`` chunks of the workspace's datasets among ``dataset_ids`` (others are skipped, as
    are datasets with nothing ingested), merged by score. ``strategy`` is Coze's search_strategy: 0 hybrid,
    1 semantic (vectors), 20 full text (BM25). Only chunks of documents whose rows say done are returned, so
    a document deleted a moment ago never answers."""
    mode = SEARCH_MODES.get(strategy)
    if mode is None:
        raise InvalidParams(f"search_strategy: 0 (hybrid), 1 (semantic) or 20 (full text), not {strategy}")
    if top_k < 1:
        raise InvalidParams("top_k: at least 1")
    if not query.strip():
        return []
    found: list[Document] = []
    names: dict[str, str] = {}
    for dataset in await uow.datasets.many(workspace_id, list(dict.fromkeys(dataset_ids))):
        names[dataset.id] = dataset.name
        found.extend(await indexes.search(dataset, query, mode=mode, top_k=top_k))
    rows = await uow.documents.many(workspace_id, list({str(chunk.metadata.get("document_id")) for chunk in found}))
    live = {row.id: row for row in rows if row.status == DONE}
    results = []
    for chunk in found:
        row = live.get(str(chunk.metadata.get("document_id")))
        if row is not None:
            metadata = {
                **chunk.metadata,
                "dataset_id": row.dataset_id,
                "dataset_name": names.get(row.dataset_id, ""),
                "document_name": row.name,
            }
            results.append(dataclasses.replace(chunk, metadata=metadata))
    results.sort(key=lambda chunk: chunk.score or 0.0, reverse=True)
    return results[:top_k]


def chunk_scores(chunk: Document, strategy: int) -> dict[str, float]:
    """A found chunk's scores by retriever, those its search strategy computed: ``bm25`` for full text,
    ``vector`` for semantic, ``hybrid`` (fused) with the ``bm25`` and ``vector`` sides it had for hybrid."""
    mode = SEARCH_MODES.get(strategy)
    if mode == "keyword":
        return {"bm25": chunk.score or 0.0}
    if mode == "vector":
        return {"vector": chunk.score or 0.0}
    sides = {"bm25": chunk.metadata.get("keyword_score"), "vector": chunk.metadata.get("vector_score")}
    known = {name: float(score) for name, score in sides.items() if score is not None}
    return {"hybrid": chunk.score or 0.0} | known
