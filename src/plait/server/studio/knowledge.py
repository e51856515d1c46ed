"""``/api/studio/datasets``: knowledge bases, their documents (status, chunk counts, errors), a document's
chunks, uploads of files into them (one request a file), and hit testing (one request a search strategy)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from plait.platform import datasets
from plait.platform.dataset_indexes import DatasetLimits
from plait.platform.hit_test import MAX_TOP_K, hit_test
from plait.server.deps import Services, Uow
from plait.server.studio.auth import StudioCaller
from plait.server.uploads import store_upload

router = APIRouter(prefix="/api/studio")
UPLOAD_ROUTE = "/documents/upload"
UPLOAD_PATH = router.prefix + UPLOAD_ROUTE  # fixed, so the app's body limit can exempt it (uploads have their own)
PageNum = Annotated[int, Query(ge=1)]
PageSize = Annotated[int, Query(ge=1, le=100)]
STATUS = {0: "processing", 1: "ready", 9: "failed"}


class NewDataset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=datasets.DATASET_NAME_LENGTH)
    description: str = Field(default="", max_length=2000)


class HitTest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2000)
    top_k: int = Field(default=5, ge=1, le=MAX_TOP_K)
    search_strategy: int = 0


def _dataset(record: datasets.DatasetRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "documents": record.documents,
        "chunks": record.slices,
        "bytes": record.bytes,
        "updated_at": record.updated_at,
    }


def _document(record: datasets.DocumentRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "status": STATUS.get(record.status, "processing"),
        "progress": record.progress,
        "error": record.error,
        "size": record.size,
        "chunks": record.slice_count,
        "type": record.type,
        "updated_at": record.updated_at,
    }


@router.get("/datasets")
async def list_datasets(
    uow: Uow, caller: StudioCaller, page_num: PageNum = 1, page_size: PageSize = 50
) -> dict[str, Any]:
    page = await datasets.list_datasets(
        uow, caller, space_id=caller.workspace_id, name=None, format_type=None, page_num=page_num, page_size=page_size
    )
    return {"items": [_dataset(record) for record in page.items], "total": page.total}


@router.post("/datasets", status_code=201)
async def create_dataset(body: NewDataset, uow: Uow, caller: StudioCaller, services: Services) -> dict[str, Any]:
    record = await datasets.create_dataset(
        uow,
        caller,
        space_id=caller.workspace_id,
        name=body.name,
        description=body.description,
        format_type=datasets.TEXT,
        icon_file_id=None,
        embedder=services.settings.embedder,
        pgvector=services.datasets.pgvector,
    )
    return _dataset(record)


@router.get("/datasets/{dataset_id}/documents")
async def list_documents(
    dataset_id: str, uow: Uow, caller: StudioCaller, page_num: PageNum = 1, page_size: PageSize = 50
) -> dict[str, Any]:
    page = await datasets.list_documents(uow, caller, dataset_id, page_num=page_num, page_size=page_size)
    return {"items": [_document(record) for record in page.items], "total": page.total}


@router.get("/datasets/{dataset_id}/documents/{document_id}/chunks")
async def list_chunks(
    dataset_id: str,
    document_id: str,
    uow: Uow,
    caller: StudioCaller,
    page_num: PageNum = 1,
    page_size: PageSize = 20,
) -> dict[str, Any]:
    page = await datasets.list_chunks(uow, caller, dataset_id, document_id, page_num=page_num, page_size=page_size)
    items = [{"id": c.id, "position": c.position, "content": c.content, "chars": c.chars} for c in page.items]
    return {"items": items, "total": page.total, "has_more": page.total > page_num * page_size}


@router.post(UPLOAD_ROUTE, status_code=201)
async def upload_document(
    dataset_id: str, request: Request, uow: Uow, caller: StudioCaller, services: Services
) -> dict[str, Any]:
    """A multipart ``file``, streamed to disk under the upload limit, then ingested like any document."""
    settings = services.settings
    file = await store_upload(request, uow, caller, settings)
    (document,) = await datasets.create_documents(
        uow,
        caller,
        dataset_id,
        [datasets.NewDocument(name=file.name, source_file_id=file.id)],
        chunk_strategy=None,
        format_type=None,
        data_dir=settings.data_dir,
        max_bytes=settings.max_upload_bytes,
        limits=DatasetLimits.of(settings),
        indexes=services.datasets,
    )
    return _document(document)


@router.post("/datasets/{dataset_id}/hit_test")
async def test_hits(
    dataset_id: str, body: HitTest, uow: Uow, caller: StudioCaller, services: Services
) -> dict[str, Any]:
    hits = await hit_test(
        uow,
        caller,
        dataset_id,
        body.query,
        indexes=services.datasets,
        top_k=body.top_k,
        strategy=body.search_strategy,
    )
    return {"search_strategy": body.search_strategy, "items": [asdict(hit) for hit in hits]}
