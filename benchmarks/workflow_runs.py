"""Durable workflow runs: the engine's per-node figure of benchmarks/workflows.py with the platform's database
checkpointer (each finished node a row and the run's state, one SQLite transaction per node; target < 2 ms
per node), and how long 200 concurrent async runs of a 3-node workflow take to all finish on one runner.

    .venv/bin/python benchmarks/workflow_runs.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import workflows as engine_bench
from _report import print_table
from plait.platform.access import Principal, bootstrap, user_workspaces
from plait.platform.providers import WorkspaceModels
from plait.platform.workflows import catalog, runs
from plait.platform.workflows.checkpoints import DurableCheckpointer
from plait.platform.workflows.runner import WorkflowRunner
from plait.store import Database, upgrade
from plait.store.crypto import SecretBox
from plait.store.tables import WorkflowRun
from plait.workflows.state import RunState, SaveReason

ASYNC_RUNS = 200


class _Rows(DurableCheckpointer):
    """The database checkpointer for runs the benchmark starts without the API: each run's row first."""

    def __init__(self, database: Database, principal: Principal, workflow_id: str, doc: Any) -> None:
        super().__init__(database, workspace_id=principal.workspace_id, doc=doc, inputs_from_events=False)
        self._database, self._workflow_id, self._known = database, workflow_id, set[str]()
        self._workspace = principal.workspace_id

    async def save(self, state: RunState, reason: SaveReason, node_id: str | None) -> None:
        if state.run_id not in self._known:
            self._known.add(state.run_id)
            async with self._database.unit_of_work() as uow:
                row = WorkflowRun(id=state.run_id, workspace_id=self._workspace, workflow_id=self._workflow_id)
                await uow.workflow_runs.insert_new([_whole(row)])
        await super().save(state, reason, node_id)


def _whole(row: WorkflowRun) -> WorkflowRun:
    row.version, row.status, row.run_mode, row.inputs, row.usage = "draft", "running", 2, {}, {}
    row.connector_id, row.connector_uid, row.logid, row.error_code, row.error_message = "1024", "", "", 0, ""
    row.created_at = row.updated_at = int(time.time())
    return row


async def _world(path: Path) -> tuple[Database, Principal]:
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    async with database.unit_of_work() as uow:
        admin = await bootstrap(uow)
        workspace, _ = (await user_workspaces(uow, admin.id))[0]
    return database, Principal(key_id="", user_id=admin.id, workspace_id=workspace.id, role="owner")


async def _async_runs(database: Database, principal: Principal) -> float:
    runner = WorkflowRunner(database, models=WorkspaceModels(database, SecretBox(os.urandom(32))), instance="bench")
    async with database.unit_of_work() as uow:
        workflow = await catalog.import_workflow(uow, principal, engine_bench.linear(3).to_json(), publish=True)
    began = time.perf_counter()

    async def one() -> runs.Execution:
        async with database.unit_of_work() as uow:
            request = runs.RunRequest(workflow_id=workflow.id, parameters={"q": "plait"}, run_mode=2)
            return await runs.start_run(uow, principal, runner, request)

    executions = await asyncio.gather(*(one() for _ in range(ASYNC_RUNS)))
    await asyncio.gather(*(execution.task for execution in executions if execution.task is not None))
    took = time.perf_counter() - began
    assert all(execution.status == "success" for execution in executions)
    await runner.aclose()
    return took


async def main(quick: bool) -> int:
    with tempfile.TemporaryDirectory() as folder:
        database, principal = await _world(Path(folder) / "bench.db")
        try:
            long_doc = engine_bench.linear(engine_bench.LONG)
            async with database.unit_of_work() as uow:
                workflow = await catalog.import_workflow(uow, principal, long_doc.to_json(), publish=False)

            async def sqlite() -> Any:
                return _Rows(database, principal, workflow.id, long_doc)

            engine_bench.register_checkpointer("sqlite (platform)", sqlite)
            n, warmup = (engine_bench.QUICK_N, engine_bench.QUICK_WARMUP) if quick else (100, 10)
            await engine_bench.main(n, warmup, None)
            took = await _async_runs(database, principal)
        finally:
            await database.dispose()
    print_table(
        f"{ASYNC_RUNS} concurrent async runs (3 nodes each, SQLite, one runner)",
        ["runs", "all finished in s", "runs / s"],
        [[ASYNC_RUNS, f"{took:.2f}", f"{ASYNC_RUNS / took:.0f}"]],
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    sys.exit(asyncio.run(main(parser.parse_args().quick)))
