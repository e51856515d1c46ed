"""``/api/studio/workflows``: the list, the editor's text (YAML or JSON) checked as it is typed with each problem
pinned to its node, create, save the draft, publish, import and export."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from plait.platform.workflows import catalog
from plait.platform.workflows.problems import document_problems
from plait.platform.workflows.records import WorkflowRecord
from plait.server.deps import Uow
from plait.server.studio.auth import StudioCaller
from plait.server.studio.workflow_text import MAX_TEXT, document_of, parse_text, to_yaml

router = APIRouter(prefix="/api/studio")
PageNum = Annotated[int, Query(ge=1)]
PageSize = Annotated[int, Query(ge=1, le=100)]
EXPORT_TYPES = {"yaml": "application/yaml", "json": "application/json"}
EXPORTED = {  # the export's answer in /openapi.json: the workflow document, in the format asked for
    "description": "The draft as a workflow file, YAML (the default) or JSON as `format` asks",
    "content": {media_type: {"schema": {"type": "object"}} for media_type in EXPORT_TYPES.values()},
}


class WorkflowText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    publish: bool = False


class CheckText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_TEXT)


def summary_view(record: WorkflowRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "mode": record.mode,
        "published_version": record.published_version,
        "updated_at": record.updated_at,
    }


def workflow_view(record: WorkflowRecord) -> dict[str, Any]:
    return summary_view(record) | {"document": record.document, "text": to_yaml(record.document)}


@router.get("/workflows")
async def list_workflows(
    uow: Uow, caller: StudioCaller, page_num: PageNum = 1, page_size: PageSize = 50
) -> dict[str, Any]:
    page = await catalog.list_workflows(uow, caller, page_num=page_num, page_size=page_size)
    return {"items": [summary_view(item) for item in page.items], "total": page.total}


@router.post("/workflows/check")
async def check_text(body: CheckText, caller: StudioCaller) -> dict[str, Any]:
    """The text's syntax error or its document's problems, each with its node and that node's line; and the
    document, to draw, whenever the text parses. Nothing is stored."""
    parsed = parse_text(body.text)
    if parsed.syntax_error is not None:
        problem = {"code": "syntax", "message": parsed.syntax_error, "node_id": None, "field": None}
        return {"document": None, "problems": [problem | {"line": parsed.error_line}]}
    problems = [
        {"code": p.code, "message": p.message, "node_id": p.node_id, "field": p.field, "line": None}
        | ({"line": parsed.node_lines[p.node_id]} if p.node_id in parsed.node_lines else {})
        for p in document_problems(parsed.data)
    ]
    document = parsed.data if isinstance(parsed.data, dict) else None
    return {"document": document, "problems": problems}


@router.post("/workflows", status_code=201)
async def create_workflow(body: WorkflowText, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    return workflow_view(await catalog.create_workflow(uow, caller, document_of(body.text), publish=body.publish))


@router.post("/workflows/import")
async def import_workflow(body: WorkflowText, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    """A workflow file: a new workflow, or the new draft of the one of its name."""
    return workflow_view(await catalog.import_workflow(uow, caller, document_of(body.text), body.publish))


@router.get("/workflows/{workflow_id}")
async def get_workflow(workflow_id: str, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    return workflow_view(await catalog.get_workflow(uow, caller, workflow_id))


@router.put("/workflows/{workflow_id}")
async def save_workflow(workflow_id: str, body: WorkflowText, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    document = document_of(body.text)
    return workflow_view(await catalog.update_workflow(uow, caller, workflow_id, document, publish=body.publish))


@router.post("/workflows/{workflow_id}/publish")
async def publish_workflow(workflow_id: str, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    version = await catalog.publish_workflow(uow, caller, workflow_id)
    return {"id": version.workflow_id, "version": version.version, "created_at": version.created_at}


@router.get("/workflows/{workflow_id}/export", response_class=Response, responses={200: EXPORTED})
async def export_workflow(
    workflow_id: str,
    uow: Uow,
    caller: StudioCaller,
    format: Annotated[str, Query(pattern="^(yaml|json)$")] = "yaml",
) -> Response:
    """The draft as a file to download, which import reads back unchanged."""
    workflow = await catalog.get_workflow(uow, caller, workflow_id)
    document = await catalog.export_workflow(uow, caller, workflow_id)
    text = to_yaml(document) if format == "yaml" else orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()
    filename = "".join(c if c.isalnum() or c in "-_" else "_" for c in workflow.name) or "workflow"
    disposition = f'attachment; filename="{filename}.{format}"'
    return Response(text, media_type=EXPORT_TYPES[format], headers={"content-disposition": disposition})
