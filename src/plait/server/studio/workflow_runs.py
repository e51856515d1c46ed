"""``/api/studio/workflows/{id}/runs``: test runs of the draft, the run history with each node's inputs, outputs
and timings (the page reads a running run again every few hundred ms to draw its nodes live: finished nodes
are committed one by one, so any worker answers), and answers to a run paused on a question."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from plait.platform import InvalidParams
from plait.platform.workflows import runs, trial
from plait.platform.workflows.records import NodeRunRecord, RunRecord
from plait.server.deps import Services, Uow
from plait.server.studio.auth import StudioCaller

router = APIRouter(prefix="/api/studio")
PageNum = Annotated[int, Query(ge=1)]
PageSize = Annotated[int, Query(ge=1, le=100)]
MAX_ANSWER = 100_000


class TrialRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: dict[str, Any] = Field(default_factory=dict)


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=100)  # the question the page showed, so a stale page fails
    answer: str = Field(max_length=MAX_ANSWER)


def node_view(node: NodeRunRecord) -> dict[str, Any]:
    return {
        "node_id": node.node_id,
        "type": node.node_type,
        "title": node.node_title,
        "status": node.status,
        "inputs": node.inputs,
        "outputs": node.outputs,
        "error": node.error,
        "duration_ms": node.duration_ms,
    }


def run_view(run: RunRecord) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": run.id,
        "workflow_id": run.workflow_id,
        "version": run.version,
        "status": run.status,
        "output": run.output,
        "error": {"code": run.error_code, "msg": run.error_message} if run.status == "fail" else None,
        "usage": run.usage.to_json(),
        "created_at": run.created_at,
        "updated_at": run.updated_at,
        "nodes": [node_view(node) for node in run.nodes],
        "question": None,
    }
    if run.interrupt is not None:
        pending = run.interrupt
        view["question"] = {"event_id": pending.get("event_id"), "node_id": pending.get("node_id"), **_asked(pending)}
    return view


@router.post("/workflows/{workflow_id}/runs", status_code=201)
async def start_run(
    workflow_id: str, body: TrialRun, uow: Uow, caller: StudioCaller, services: Services
) -> dict[str, Any]:
    """A run of the draft; its progress is read with GET .../runs/{run_id}."""
    execution = await trial.start_trial_run(uow, caller, services.workflows, workflow_id, body.inputs)
    return {"id": execution.job.run_id, "status": execution.status}


@router.get("/workflows/{workflow_id}/runs")
async def list_runs(
    workflow_id: str, uow: Uow, caller: StudioCaller, page_num: PageNum = 1, page_size: PageSize = 20
) -> dict[str, Any]:
    page = await trial.list_runs(uow, caller, workflow_id, page_num=page_num, page_size=page_size)
    return {"items": [run_view(run) for run in page.items], "total": page.total}


@router.get("/workflows/{workflow_id}/runs/{run_id}")
async def get_run(workflow_id: str, run_id: str, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    return run_view(await runs.get_run(uow, caller, workflow_id, run_id))


@router.post("/workflows/{workflow_id}/runs/{run_id}/answer")
async def answer(
    workflow_id: str, run_id: str, body: Answer, uow: Uow, caller: StudioCaller, services: Services
) -> dict[str, Any]:
    """Answer the question the run waits on; the run goes on from there (read it again for its progress)."""
    run = await runs.get_run(uow, caller, workflow_id, run_id)
    if not body.event_id.startswith(f"{run.id}/"):
        raise InvalidParams(f"event_id: {body.event_id!r} is not a question of run {run.id}")
    pending_type = int((run.interrupt or {}).get("type", 0))
    execution = await runs.resume_run(
        uow,
        caller,
        services.workflows,
        workflow_id=workflow_id,
        event_id=body.event_id,
        resume_data=body.answer,
        interrupt_type=pending_type,
    )
    return {"id": execution.job.run_id, "status": execution.status}


def _asked(pending: dict[str, Any]) -> dict[str, Any]:
    """What the page asks: a question node's text and options (Coze's ``messages``; the last one asks), or an
    input node's prompt, the fields to fill in (answered as a JSON object) and what was wrong last time."""
    raw = pending.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    messages = data.get("messages")
    asked: dict[str, Any] = {"kind": pending.get("kind", "question"), "text": "", "options": [], "fields": []}
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        content = messages[-1].get("content")
        if isinstance(content, dict):  # an options question: {"question": ..., "options": [{"name": ...}]}
            options = content.get("options") or []
            asked["options"] = [str(o.get("name", "")) if isinstance(o, dict) else str(o) for o in options]
            content = content.get("question")
        asked["text"] = str(content or "")
    elif data.get("content_type") == "form_schema":
        asked["text"] = "\n".join([str(data.get("prompt") or ""), *map(str, data.get("errors") or [])]).strip()
        asked["fields"] = orjson.loads(str(data.get("content") or "[]"))
    return asked
