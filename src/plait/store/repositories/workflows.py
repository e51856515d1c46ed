"""Workflows, their versions, runs and node executions. A run's status only moves by conditional updates, so
a resume, the sweep of a dead worker and the run itself never both win."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from plait.store.base import now
from plait.store.repositories.base import MAX_OFFSET, Page, ScopedRepository
from plait.store.tables.workers import Worker
from plait.store.tables.workflows import Workflow, WorkflowNodeRun, WorkflowRun, WorkflowVersion


class WorkflowRepository(ScopedRepository[Workflow]):
    model = Workflow

    async def named(self, workspace_id: str, name: str) -> Workflow | None:
        return (await self.session.execute(self._scoped(workspace_id, Workflow.name == name))).scalar()

    async def among(self, workspace_id: str, ids: Sequence[str]) -> list[Workflow]:
        if not ids:
            return []
        query = self._scoped(workspace_id, Workflow.id.in_(list(ids)))
        return list((await self.session.execute(query)).scalars())

    async def search(
        self,
        workspace_id: str,
        *,
        mode: str | None = None,
        published: bool | None = None,
        page_num: int = 1,
        page_size: int = 20,
    ) -> Page[Workflow]:
        where = []
        if mode is not None:
            where.append(Workflow.mode == mode)
        if published is not None:
            where.append(Workflow.published_version.is_not(None) if published else Workflow.published_version.is_(None))
        return await self.page(workspace_id, *where, page_num=page_num, page_size=page_size)

    async def published(self, workspace_id: str) -> list[Workflow]:
        """The workspace's published workflows, oldest first (what its tool lists show)."""
        query = self._scoped(workspace_id, Workflow.published_version.is_not(None)).order_by(Workflow.created_at)
        return list((await self.session.execute(query)).scalars())


class WorkflowVersionRepository(ScopedRepository[WorkflowVersion]):
    """Versions are only added: a run of version N reads the same document however the draft changes."""

    model = WorkflowVersion

    async def find(self, workspace_id: str, workflow_id: str, version: str) -> WorkflowVersion | None:
        query = self._scoped(
            workspace_id, WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version == version
        )
        return (await self.session.execute(query)).scalar()

    async def newest(self, workspace_id: str, workflow_id: str, *, offset: int, limit: int) -> list[WorkflowVersion]:
        query = (
            self._scoped(workspace_id, WorkflowVersion.workflow_id == workflow_id)
            .order_by(WorkflowVersion.created_at.desc(), WorkflowVersion.id.desc())
            .offset(min(offset, MAX_OFFSET))
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())


class WorkflowRunRepository(ScopedRepository[WorkflowRun]):
    model = WorkflowRun

    async def move(self, run_id: str, statuses: Sequence[str], **values: Any) -> bool:
        """Set ``values`` on a run still in one of ``statuses``; False when it had moved on."""
        statement = (
            update(WorkflowRun)
            .where(WorkflowRun.id == run_id, WorkflowRun.status.in_(list(statuses)))
            .values(updated_at=now(), **values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(await self.session.execute(statement), "rowcount", 0))

    async def of_workflow(
        self, workspace_id: str, workflow_id: str, *, page_num: int = 1, page_size: int = 20
    ) -> Page[WorkflowRun]:
        """A workflow's runs, newest first (the studio's run history)."""
        where = WorkflowRun.workflow_id == workflow_id
        return await self.page(workspace_id, where, page_num=page_num, page_size=page_size)

    async def orphaned(self, stale_before: int) -> list[WorkflowRun]:
        """Maintenance across workspaces: runs still ``running`` whose runner holds no live worker slot."""
        live = select(Worker.instance).where(Worker.heartbeat_at >= stale_before)
        query = select(WorkflowRun).where(
            WorkflowRun.status == "running", (WorkflowRun.runner.is_(None)) | WorkflowRun.runner.not_in(live)
        )
        return list((await self.session.execute(query.order_by(WorkflowRun.id))).scalars())

    async def adopt(self, run_id: str, dead_runner: str | None, runner: str) -> bool:
        """Take over a run of a dead worker; of two workers sweeping at once, one wins."""
        held = WorkflowRun.runner.is_(None) if dead_runner is None else WorkflowRun.runner == dead_runner
        statement = (
            update(WorkflowRun)
            .where(WorkflowRun.id == run_id, WorkflowRun.status == "running", held)
            .values(runner=runner, updated_at=now())
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(await self.session.execute(statement), "rowcount", 0))


class WorkflowNodeRunRepository(ScopedRepository[WorkflowNodeRun]):
    model = WorkflowNodeRun
    order = ("created_at", "id")

    async def of_run(self, workspace_id: str, run_id: str) -> list[WorkflowNodeRun]:
        """A run's node executions in the order they were written (ids grow with time)."""
        query = self._scoped(workspace_id, WorkflowNodeRun.run_id == run_id).order_by(WorkflowNodeRun.id)
        return list((await self.session.execute(query)).scalars())
