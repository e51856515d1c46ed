"""A workspace's workflows as a run's sub_workflow nodes find them: by id, or by name (so a shipped file that
calls another works in any workspace that imported both), at the version the node names, else the published
one. A draft runs only when named (``version: draft``): a published parent must not change under its callers
because someone edits a child."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plait.platform.errors import InvalidParams, NotFound
from plait.platform.workflows.catalog import run_document
from plait.store import Database
from plait.workflows.dsl import WorkflowDoc


class WorkspaceWorkflows:
    """``WorkflowResolver`` over one workspace's workflows."""

    def __init__(self, database: Database, workspace_id: str) -> None:
        self._database = database
        self._workspace_id = workspace_id

    async def get_workflow(
        self, workflow_id: str, version: str | None, system: Mapping[str, Any]
    ) -> WorkflowDoc | None:
        workspace_id = self._workspace_id
        async with self._database.unit_of_work() as uow:
            if workflow_id.isdigit():
                row = await uow.workflows.get(workspace_id, workflow_id)
            else:
                row = await uow.workflows.named(workspace_id, workflow_id)
            if row is None:
                return None
            chosen = version or row.published_version
            if chosen is None:
                raise InvalidParams(
                    f"workflow {row.id} ({row.name!r}) is not published: publish it, or name version: draft"
                )
            try:
                return await run_document(uow, workspace_id, row.id, chosen)
            except NotFound:
                return None
