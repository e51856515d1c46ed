"""Trial runs of a workflow's draft, as its author tries it in the studio before publishing, and a workflow's run
history. A trial run is a run like any other, started by `runs.start_run` (version ``"draft"``: a resume reads
the draft as it is then), so the run history, resume and recovery treat it the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plait.platform.access import Principal
from plait.platform.errors import InvalidParams
from plait.platform.unit_of_work import UnitOfWork
from plait.platform.workflows.catalog import get_workflow
from plait.platform.workflows.records import RUN_MODES, RunRecord
from plait.platform.workflows.runner import Execution, WorkflowRunner
from plait.platform.workflows.runs import RunRequest, start_run
from plait.store.repositories.base import MAX_PAGE_SIZE


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPage:
    items: list[RunRecord]  # without their nodes: ``runs.get_run`` reads one run whole
    total: int


async def start_trial_run(
    uow: UnitOfWork, principal: Principal, runner: WorkflowRunner, workflow_id: str, parameters: dict[str, Any]
) -> Execution:
    """Run the draft with ``parameters``; the run's row is committed before its task starts."""
    request = RunRequest(workflow_id=workflow_id, parameters=parameters, run_mode=RUN_MODES["stream"], draft=True)
    return await start_run(uow, principal, runner, request)


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
