"""Coze file endpoints: upload (streamed to disk under the upload size limit) and retrieve."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from plait.platform import files
from plait.server.deps import Caller, Services, Uow, require_scope
from plait.server.envelope import ok
from plait.server.uploads import store_upload

router = APIRouter(dependencies=[require_scope("files")])
UPLOAD_PATH = "/v1/files/upload"


def render_file(file: files.FileRecord) -> dict[str, Any]:
    return {"id": file.id, "bytes": file.bytes, "created_at": file.created_at, "file_name": file.name}


@router.post(UPLOAD_PATH)
async def upload_file(request: Request, uow: Uow, caller: Caller, services: Services) -> dict[str, Any]:
    """The body is read here, not by FastAPI, so the size limit holds while it streams."""
    return ok(render_file(await store_upload(request, uow, caller, services.settings)))


@router.get("/v1/files/retrieve")
async def retrieve_file(file_id: str, uow: Uow, caller: Caller) -> dict[str, Any]:
    return ok(render_file(await files.get_file(uow, caller, file_id)))
