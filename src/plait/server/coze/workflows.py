"""Coze workflows: run one (answered when done, as a job, or streamed), resume a paused run, read run
histories and node executions, list and read workflows and their versions. Creating, updating and publishing
a workflow are Plait's own endpoints (Coze edits workflows in its studio)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from plait.platform.chat.events import EventLog
from plait.platform.workflows import catalog, chatflow, runs
from plait.platform.workflows.records import RUN_MODES, debug_url
from plait.platform.workflows.runner import Execution
from plait.server.coze.chat_events import SseEncoder
from plait.server.coze.workflow_events import WorkflowSseEncoder
from plait.server.coze.workflow_schemas import (
    ResumeBody,
    RunBody,
    WorkflowBody,
    WorkflowChatBody,
    history_view,
    node_view,
    version_view,
    workflow_view,
)
from plait.server.deps import Caller, Services, Uow, require_scope
from plait.server.envelope import ok

router = APIRouter(dependencies=[require_scope("workflows")])


@router.post("/v1/workflow/run", response_model=None)
async def run_workflow(
    body: RunBody, request: Request, uow: Uow, caller: Caller, services: Services
) -> dict[str, Any] | JSONResponse:
    mode = RUN_MODES["async" if body.is_async else "sync"]
    execution = await runs.start_run(uow, caller, services.workflows, _run_request(body, request, mode))
    job = execution.job
    answer: dict[str, Any] = {"code": 0, "msg": "", "data": "", "execute_id": job.run_id}
    answer["debug_url"] = debug_url(job.workflow_id, job.run_id)
    if body.is_async:
        return answer | {"usage": execution.usage.to_json()}
    assert execution.task is not None
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(execution.task), services.settings.chat_timeout_seconds)
    answer["usage"] = execution.usage.to_json()
    if execution.status == "fail":
        return JSONResponse(answer | {"code": execution.error_code, "msg": execution.error_message, "data": None})
    if execution.status == "success":
        answer["data"] = execution.output
    return answer


@router.post("/v1/workflow/stream_run")
async def stream_workflow(
    body: RunBody, request: Request, uow: Uow, caller: Caller, services: Services
) -> StreamingResponse:
    execution = await runs.start_run(uow, caller, services.workflows, _run_request(body, request, RUN_MODES["stream"]))
    return _stream(execution)


@router.post("/v1/workflow/stream_resume")
async def resume_workflow(body: ResumeBody, uow: Uow, caller: Caller, services: Services) -> StreamingResponse:
    execution = await runs.resume_run(
        uow,
        caller,
        services.workflows,
        workflow_id=body.workflow_id,
        event_id=body.event_id,
        resume_data=body.resume_data,
        interrupt_type=body.interrupt_type,
    )
    return _stream(execution)


@router.post("/v1/workflows/chat")
async def chat_workflow(body: WorkflowChatBody, uow: Uow, caller: Caller, services: Services) -> StreamingResponse:
    """A chatflow's answer as the chat SSE of /v3/chat, the conversation's messages saved."""
    request = chatflow.ChatflowRequest(
        workflow_id=body.workflow_id,
        messages=[message.new() for message in body.additional_messages or []],
        parameters=body.parameters or {},
        conversation_id=body.conversation_id or None,
        bot_id=body.bot_id or None,
        user_id=str((body.ext or {}).get("user_id") or ""),
    )
    events = await chatflow.start_chatflow(uow, caller, services.workflows, services.database, request)
    return StreamingResponse(_chat_sse(events), media_type="text/event-stream", headers={"cache-control": "no-cache"})


@router.get("/v1/workflows/{workflow_id}/run_histories/{execute_id}")
async def run_history(workflow_id: str, execute_id: str, uow: Uow, caller: Caller) -> dict[str, Any]:
    return ok([history_view(await runs.get_run(uow, caller, workflow_id, execute_id))])


@router.get("/v1/workflows/{workflow_id}/run_histories/{execute_id}/execute_nodes/{node_execute_uuid}")
async def node_execution(
    workflow_id: str, execute_id: str, node_execute_uuid: str, uow: Uow, caller: Caller
) -> dict[str, Any]:
    return ok(node_view(await runs.get_node_run(uow, caller, workflow_id, execute_id, node_execute_uuid)))


@router.get("/v1/workflows")
async def list_workflows(
    uow: Uow,
    caller: Caller,
    workspace_id: str | None = None,
    workflow_mode: str | None = None,
    publish_status: str | None = None,
    page_num: int = 1,
    page_size: int = 20,
) -> dict[str, Any]:
    published = {"published_online": True, "unpublished_draft": False}.get(publish_status or "")
    page = await catalog.list_workflows(
        uow,
        caller,
        workspace_id=workspace_id,
        mode=workflow_mode or None,
        published=published,
        page_num=page_num,
        page_size=page_size,
    )
    return ok({"items": [workflow_view(item) for item in page.items], "has_more": page.has_more, "total": page.total})


@router.post("/v1/workflows")
async def create_workflow(body: WorkflowBody, uow: Uow, caller: Caller) -> dict[str, Any]:
    """Plait: a workflow from a workflow file's content, published at once with ``publish``."""
    return ok(workflow_view(await catalog.create_workflow(uow, caller, body.document, publish=body.publish)))


@router.get("/v1/workflows/{workflow_id}")
async def get_workflow(workflow_id: str, uow: Uow, caller: Caller, include_document: bool = False) -> dict[str, Any]:
    workflow = await catalog.get_workflow(uow, caller, workflow_id)
    detail = workflow_view(workflow) | ({"document": workflow.document} if include_document else {})
    return ok({"workflow_detail": detail})


@router.put("/v1/workflows/{workflow_id}")
async def update_workflow(workflow_id: str, body: WorkflowBody, uow: Uow, caller: Caller) -> dict[str, Any]:
    """Plait: replace the draft; runs see it once published."""
    workflow = await catalog.update_workflow(uow, caller, workflow_id, body.document, publish=body.publish)
    return ok(workflow_view(workflow))


@router.post("/v1/workflows/{workflow_id}/publish")
async def publish_workflow(workflow_id: str, uow: Uow, caller: Caller) -> dict[str, Any]:
    """Plait: freeze the draft as a new version, the one runs read from now on."""
    return ok(version_view(await catalog.publish_workflow(uow, caller, workflow_id)))


@router.get("/v1/workflows/{workflow_id}/versions")
async def list_versions(
    workflow_id: str, uow: Uow, caller: Caller, page_size: int = 10, page_token: str | None = None
) -> dict[str, Any]:
    page = await catalog.list_versions(uow, caller, workflow_id, page_size=page_size, page_token=page_token)
    items = [version_view(item) for item in page.items]
    return ok({"items": items, "has_more": page.has_more, "next_page_token": page.next_page_token})


def _run_request(body: RunBody, request: Request, mode: int) -> runs.RunRequest:
    ext = body.ext or {}
    return runs.RunRequest(
        workflow_id=body.workflow_id,
        parameters=body.parameters or {},
        run_mode=mode,
        bot_id=body.bot_id,
        connector_uid=str(ext.get("user_id") or ""),
        logid=getattr(request.state, "logid", ""),
        system={"user_id": ext["user_id"]} if ext.get("user_id") else None,
    )


def _stream(execution: Execution) -> StreamingResponse:
    return StreamingResponse(_sse(execution), media_type="text/event-stream", headers={"cache-control": "no-cache"})


async def _chat_sse(events: EventLog) -> AsyncIterator[bytes]:
    encoder = SseEncoder()
    async for batch in events.batches():
        yield b"".join(encoder.encode(event) for event in batch)


async def _sse(execution: Execution) -> AsyncIterator[bytes]:
    """The run's events; a client that leaves does not stop the run (its history has the end)."""
    encoder = WorkflowSseEncoder()
    async for batch in execution.log.batches():
        yield b"".join(encoder.encode(event) for event in batch)
