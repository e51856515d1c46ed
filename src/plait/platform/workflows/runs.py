"""Runs of a workflow: start one (its row committed before its task starts, so any worker can read it from its
first event), resume one paused on a question, read its history and its nodes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from plait.platform.access import Principal
from plait.platform.errors import InvalidParams, NotFound
from plait.platform.unit_of_work import UnitOfWork
from plait.platform.workflows.catalog import published_document, run_document
from plait.platform.workflows.documents import checked_inputs
from plait.platform.workflows.records import INTERRUPT_TYPES, RUN_MODES, NodeRunRecord, RunRecord
from plait.platform.workflows.runner import Execution, RunJob, WorkflowRunner
from plait.store import new_id
from plait.store.tables import WorkflowRun

STATUS_WORDS = {"success": "finished", "fail": "failed", "running": "is running"}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRequest:
    workflow_id: str
    parameters: dict[str, Any]
    run_mode: int  # 0 sync, 1 stream, 2 async
    bot_id: str | None = None
    connector_uid: str = ""
    logid: str = ""
    system: dict[str, Any] | None = None
    conversation_id: str | None = None  # a chatflow's
    draft: bool = False  # run the draft as it is now, not the published version (the studio's trial runs)


async def start_run(uow: UnitOfWork, principal: Principal, runner: WorkflowRunner, request: RunRequest) -> Execution:
    principal.require_model_calls()
    workflow, version, doc = await published_document(uow, principal, request.workflow_id, draft=request.draft)
    inputs = checked_inputs(doc, request.parameters)
    row = WorkflowRun(
        id=new_id(),
        workspace_id=principal.workspace_id,
        workflow_id=workflow.id,
        version=version,
        status="running",
        run_mode=request.run_mode,
        bot_id=request.bot_id,
        conversation_id=request.conversation_id,
        connector_uid=request.connector_uid or principal.user_id,
        logid=request.logid,
        runner=runner.instance,
        inputs=inputs,
        usage={},
        created_by=principal.user_id,
    )
    await uow.workflow_runs.add(row)
    await uow.commit()
    job = RunJob(
        run_id=row.id,
        workspace_id=row.workspace_id,
        workflow_id=workflow.id,
        doc=doc,
        inputs=inputs,
        system=dict(request.system or {}),
        created_by=principal.user_id,
    )
    return await runner.submit(job) if request.run_mode == RUN_MODES["async"] else runner.start(job)


async def resume_run(
    uow: UnitOfWork,
    principal: Principal,
    runner: WorkflowRunner,
    *,
    workflow_id: str,
    event_id: str,
    resume_data: str,
    interrupt_type: int,
) -> Execution:
    """Answer a paused run's question; of two resumes of one event, one continues the run and the other gets 4000."""
    principal.require_model_calls()
    run_id = event_id.partition("/")[0]
    row = await uow.workflow_runs.get(principal.workspace_id, run_id) if run_id.isdigit() else None
    if row is None or row.workflow_id != workflow_id:
        raise InvalidParams(f"event_id: no run of workflow {workflow_id} has the event {event_id!r}")
    pending = row.interrupt or {}
    if row.status != "interrupted":
        raise InvalidParams(
            f"event_id: run {run_id} {STATUS_WORDS.get(row.status, row.status)}; nothing waits on {event_id!r}"
        )
    if pending.get("event_id") != event_id:
        raise InvalidParams(f"event_id: run {run_id} waits on {pending.get('event_id')!r}, not {event_id!r}")
    if interrupt_type != pending.get("type"):
        raise InvalidParams(
            f"interrupt_type: the pending interrupt is of type {pending.get('type')}, not {interrupt_type}"
        )
    if not await uow.workflow_runs.move(
        row.id, ("interrupted",), status="running", runner=runner.instance, interrupt=None
    ):
        raise InvalidParams(f"event_id: {event_id!r} was answered already")
    doc = await run_document(uow, principal.workspace_id, row.workflow_id, row.version)
    await uow.commit()
    answer = _answer(resume_data) if interrupt_type == INTERRUPT_TYPES["input"] else resume_data
    job = RunJob(
        run_id=row.id,
        workspace_id=row.workspace_id,
        workflow_id=row.workflow_id,
        doc=doc,
        inputs=row.inputs,
        created_by=row.created_by or "",
        answer={pending["interrupt_id"]: answer},  # this event's node only: others waiting with it ask again
    )
    return runner.start(job)


async def get_run(uow: UnitOfWork, principal: Principal, workflow_id: str, execute_id: str) -> RunRecord:
    row = await _run(uow, principal, workflow_id, execute_id)
    return RunRecord.of(row, await uow.workflow_node_runs.of_run(principal.workspace_id, row.id))


async def get_node_run(
    uow: UnitOfWork, principal: Principal, workflow_id: str, execute_id: str, node_execute_uuid: str
) -> NodeRunRecord:
    row = await _run(uow, principal, workflow_id, execute_id)
    node = await uow.workflow_node_runs.get(principal.workspace_id, node_execute_uuid)
    if node is None or node.run_id != row.id:
        raise NotFound(f"run {execute_id} has no node execution {node_execute_uuid}")
    return NodeRunRecord.of(node)


async def _run(uow: UnitOfWork, principal: Principal, workflow_id: str, execute_id: str) -> WorkflowRun:
    row = await uow.workflow_runs.get(principal.workspace_id, execute_id)
    if row is None or row.workflow_id != workflow_id:
        raise NotFound(f"workflow {workflow_id} has no run {execute_id}")
    return row


def _answer(text: str) -> Any:
    """An input node's answer: the JSON object a client sends as text, else the text itself."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    return value if isinstance(value, dict) else text
