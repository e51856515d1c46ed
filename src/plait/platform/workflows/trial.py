"""Trial runs of a workflow's draft, as its author tries it in the studio before publishing, and a workflow's run
history. A trial run is a run like any other (version ``"draft"``: a resume reads the draft as it is then), so
the run history, resume and recovery treat it the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plait.platform.access import Principal
from plait.platform.errors import InvalidParams
from plait.platform.unit_of_work import UnitOfWork
from plait.platform.workflows.catalog import get_workflow, run_document
from plait.platform.workflows.documents import checked_inputs
from plait.platform.workflows.records import RUN_MODES, RunRecord
from plait.platform.workflows.runner import Execution, RunJob, WorkflowRunner
from plait.store import new_id
from plait.store.repositories.base import MAX_PAGE_SIZE
from plait.store.tables import WorkflowRun

DRAFT = "draft"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPage:
    items: list[RunRecord]  # without their nodes: ``runs.get_run`` reads one run whole
    total: int


async def start_trial_run(
    uow: UnitOfWork, principal: Principal, runner: WorkflowRunner, workflow_id: str, parameters: dict[str, Any]
) -> Execution:
    """Run the draft with ``parameters``; the run's row is committed before its task starts."""
    principal.require_model_calls()
    workflow = await get_workflow(uow, principal, workflow_id)
    doc = await run_document(uow, principal.workspace_id, workflow.id, DRAFT)
    inputs = checked_inputs(doc, parameters)
    run = WorkflowRun(
        id=new_id(),
        workspace_id=principal.workspace_id,
        workflow_id=workflow.id,
        version=DRAFT,
        run_mode=RUN_MODES["stream"],
        connector_uid=principal.user_id,
        runner=runner.instance,
        inputs=inputs,
        usage={},
        created_by=principal.user_id,
    )  # the columns left out keep their defaults: running, no bot, no conversation
    await uow.workflow_runs.add(run)
    await uow.commit()
    return runner.start(
        RunJob(run_id=run.id, workspace_id=run.workspace_id, workflow_id=workflow.id, doc=doc, inputs=inputs)
    )


async def list_runs(
    uow: UnitOfWork, principal: Principal, workflow_id: str, *, page_num: int = 1, page_size: int = 20
) -> RunPage:
    """Newest first; an unknown workflow (or another workspace's) is 4200."""
    await get_workflow(uow, principal, workflow_id)
    if page_num < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidParams(f"page_num must be >= 1 and page_size in 1..{MAX_PAGE_SIZE}")
    page = await uow.workflow_runs.of_workflow(
        principal.workspace_id, workflow_id, page_num=page_num, page_size=page_size
    )
    return RunPage(items=[RunRecord.of(row) for row in page.items], total=page.total)
