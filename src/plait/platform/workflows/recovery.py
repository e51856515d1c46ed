"""Runs left ``running`` by a worker that died (``kill -9``, a lost host) or stopped: at start and on every
heartbeat a worker adopts them, one conditional update each, and resumes them from their last checkpoint,
so finished nodes are not run again. A run that cannot be resumed is failed with the reason."""

from __future__ import annotations

import logging
import time

from plait.platform.errors import PlatformError
from plait.platform.workflows.catalog import run_document
from plait.platform.workflows.runner import RUN_FAILED, RunJob, WorkflowRunner
from plait.store import Database

log = logging.getLogger(__name__)


class Recovery:
    def __init__(self, database: Database, runner: WorkflowRunner, *, stale_after_seconds: float) -> None:
        self._database = database
        self._runner = runner
        self._stale_after = stale_after_seconds

    async def sweep(self) -> None:
        """Adopt and resume the orphaned runs."""
        async with self._database.unit_of_work() as uow:
            orphans = await uow.workflow_runs.orphaned(int(time.time() - self._stale_after))
        for orphan in orphans:
            async with self._database.unit_of_work() as uow:
                if not await uow.workflow_runs.adopt(orphan.id, orphan.runner, self._runner.instance):
                    continue  # another worker took it
                try:
                    doc = await run_document(uow, orphan.workspace_id, orphan.workflow_id, orphan.version)
                except PlatformError as exc:
                    message = f"the server running this workflow stopped, and the run cannot resume: {exc.msg}"
                    await uow.workflow_runs.move(
                        orphan.id, ("running",), status="fail", error_code=RUN_FAILED, error_message=message
                    )
                    continue
            log.warning("resuming workflow run %s, left running by a stopped worker", orphan.id)
            job = RunJob(
                run_id=orphan.id,
                workspace_id=orphan.workspace_id,
                workflow_id=orphan.workflow_id,
                doc=doc,
                inputs=orphan.inputs,
                created_by=orphan.created_by or "",
            )
            self._runner.start(job)
