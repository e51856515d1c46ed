"""Coze dataset and document endpoints. Ingesting, and forgetting a deleted dataset's index, start when the
request's transaction commits (the use cases' after-commit hooks): a job never looks for a row that is not
there yet, and a rolled-back delete stops nothing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from plait.platform import InvalidParams, datasets
from plait.platform.dataset_indexes import DatasetLimits
from plait.server.coze.dataset_schemas import (
    CreateDatasetRequest,
    CreateDocumentsRequest,
    DeleteDocumentsRequest,
    ListDocumentsRequest,
    ProcessRequest,
    UpdateDatasetRequest,
    UpdateDocumentRequest,
    render_dataset,
    render_document,
    render_progress,
)
from plait.server.deps import Caller, Services, Uow, require_scope
from plait.server.envelope import ok

router = APIRouter(dependencies=[require_scope("datasets")])
PageNum = Annotated[int, Query(ge=1)]
PageSize = Annotated[int, Query(ge=1, le=100)]


@router.post("/v1/datasets")
async def create_dataset(body: CreateDatasetRequest, uow: Uow, caller: Caller, services: Services) -> dict[str, Any]:
    dataset = await datasets.create_dataset(
        uow,
        caller,
        space_id=body.space_id,
        name=body.name,
        description=body.description or "",
        format_type=body.format_type,
        icon_file_id=body.file_id,
        embedder=services.settings.embedder,
        pgvector=services.datasets.pgvector,
    )
    return ok({"dataset_id": dataset.id})


@router.get("/v1/datasets")
async def list_datasets(
    space_id: str,
    uow: Uow,
    caller: Caller,
    name: str | None = None,
    format_type: str | None = None,
    page_num: PageNum = 1,
    page_size: PageSize = 10,
) -> dict[str, Any]:
    """cozepy sends unset filters as empty parameters (``format_type=``): empty means no filter."""
    if format_type and not format_type.isdigit():
        raise InvalidParams(f"format_type: an integer, not {format_type!r}")
    page = await datasets.list_datasets(
        uow,
        caller,
        space_id=space_id,
        name=name,
        format_type=int(format_type) if format_type else None,
        page_num=page_num,
        page_size=page_size,
    )
    editable = datasets.can_edit(caller)
    items = [render_dataset(dataset, can_edit=editable) for dataset in page.items]
    return ok({"total_count": page.total, "dataset_list": items})


@router.put("/v1/datasets/{dataset_id}")
async def update_dataset(dataset_id: str, body: UpdateDatasetRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    await datasets.update_dataset(
        uow, caller, dataset_id, name=body.name, description=body.description or "", icon_file_id=body.file_id
    )
    return ok(None)


@router.delete("/v1/datasets/{dataset_id}")
async def delete_dataset(dataset_id: str, uow: Uow, caller: Caller, services: Services) -> dict[str, Any]:
    await datasets.delete_dataset(uow, caller, dataset_id, indexes=services.datasets)
    return ok(None)


@router.post("/v1/datasets/{dataset_id}/process")
async def dataset_progress(dataset_id: str, body: ProcessRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    """cozepy reads the list from ``data.data``."""
    documents = await datasets.dataset_progress(uow, caller, dataset_id, body.document_ids)
    return ok({"data": [render_progress(document) for document in documents]})


@router.post("/open_api/knowledge/document/create")
async def create_documents(
    body: CreateDocumentsRequest, uow: Uow, caller: Caller, services: Services
) -> dict[str, Any]:
    """Answers at once with the documents processing; cozepy reads them from top-level ``document_infos``."""
    settings = services.settings
    documents = await datasets.create_documents(
        uow,
        caller,
        body.dataset_id,
        [base.new() for base in body.document_bases],
        chunk_strategy=body.chunk_strategy.strategy() if body.chunk_strategy else None,
        format_type=body.format_type,
        data_dir=settings.data_dir,
        max_bytes=settings.max_upload_bytes,
        limits=DatasetLimits.of(settings),
        indexes=services.datasets,
    )
    return {"code": 0, "msg": "", "document_infos": [render_document(document) for document in documents]}


@router.post("/open_api/knowledge/document/update")
async def update_document(body: UpdateDocumentRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    update_rule = body.update_rule.model_dump(exclude_none=True) if body.update_rule else None
    await datasets.update_document(uow, caller, body.document_id, name=body.document_name, update_rule=update_rule)
    return ok(None)


@router.post("/open_api/knowledge/document/delete")
async def delete_documents(body: DeleteDocumentsRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    """Every worker drops the documents from its indexes before its next search of their datasets."""
    await datasets.delete_documents(uow, caller, body.document_ids)
    return ok(None)


@router.post("/open_api/knowledge/document/list")
async def list_documents(body: ListDocumentsRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    """No ``data`` key: cozepy then reads ``document_infos`` and ``total`` from the top level."""
    page = await datasets.list_documents(uow, caller, body.dataset_id, page_num=body.page, page_size=body.size)
    return {"code": 0, "msg": "", "document_infos": [render_document(d) for d in page.items], "total": page.total}
