"""Workflows of a workspace: a draft writers edit and import, published versions that runs read, the list and
detail the Coze API shows, and export back to a file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plait.platform import audit
from plait.platform.access import Principal
from plait.platform.errors import InvalidParams, NotFound
from plait.platform.unit_of_work import UnitOfWork, now
from plait.platform.workflows.documents import parse_document, version_document
from plait.platform.workflows.records import VersionRecord, WorkflowRecord
from plait.store import new_id
from plait.store.repositories.base import MAX_PAGE_SIZE
from plait.store.tables import Workflow, WorkflowVersion
from plait.workflows.dsl import WorkflowDoc

MAX_VERSIONS_PAGE = 30  # what Coze allows per versions page


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowPage:
    items: list[WorkflowRecord]
    total: int
    has_more: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionPage:
    items: list[VersionRecord]
    has_more: bool
    next_page_token: str | None


async def create_workflow(
    uow: UnitOfWork, principal: Principal, document: Any, *, publish: bool = False
) -> WorkflowRecord:
    principal.require_writer()
    doc = parse_document(document)
    if await uow.workflows.named(principal.workspace_id, doc.name) is not None:
        raise InvalidParams(f"name: a workflow named {doc.name!r} exists in this workspace")
    row = Workflow(
        workspace_id=principal.workspace_id,
        name=doc.name,
        description=doc.description,
        mode=doc.kind,
        document=doc.to_json(),
        created_by=principal.user_id,
    )
    await uow.workflows.add(row)
    if publish:
        await _publish(uow, principal, row)
    return WorkflowRecord.of(row)


async def update_workflow(
    uow: UnitOfWork, principal: Principal, workflow_id: str, document: Any, *, publish: bool = False
) -> WorkflowRecord:
    """Replace the draft; what runs changes only when it is published."""
    principal.require_writer()
    row = await _workflow(uow, principal, workflow_id)
    doc = parse_document(document)
    other = await uow.workflows.named(principal.workspace_id, doc.name)
    if other is not None and other.id != row.id:
        raise InvalidParams(f"name: a workflow named {doc.name!r} exists in this workspace")
    _set_draft(row, doc)
    await uow.flush()
    if publish:
        await _publish(uow, principal, row)
    return WorkflowRecord.of(row)


async def publish_workflow(uow: UnitOfWork, principal: Principal, workflow_id: str) -> VersionRecord:
    principal.require_writer()
    return await _publish(uow, principal, await _workflow(uow, principal, workflow_id))


async def import_workflow(uow: UnitOfWork, principal: Principal, doc: dict[str, Any], publish: bool) -> WorkflowRecord:
    """A workflow file into the workspace: a new workflow, or the draft of the one of the same name."""
    principal.require_writer()
    parsed = parse_document(doc)
    row = await uow.workflows.named(principal.workspace_id, parsed.name)
    if row is None:
        return await create_workflow(uow, principal, doc, publish=publish)
    return await update_workflow(uow, principal, row.id, doc, publish=publish)


async def export_workflow(uow: UnitOfWork, principal: Principal, workflow_id: str) -> dict[str, Any]:
    """The draft as a workflow file's content (``import_workflow`` reads it back unchanged)."""
    return dict((await _workflow(uow, principal, workflow_id)).document)


async def get_workflow(uow: UnitOfWork, principal: Principal, workflow_id: str) -> WorkflowRecord:
    return WorkflowRecord.of(await _workflow(uow, principal, workflow_id))


async def list_workflows(
    uow: UnitOfWork,
    principal: Principal,
    *,
    workspace_id: str | None = None,
    mode: str | None = None,
    published: bool | None = None,
    page_num: int = 1,
    page_size: int = 20,
) -> WorkflowPage:
    if workspace_id:
        principal.require_workspace(workspace_id)
    if mode is not None and mode not in ("workflow", "chatflow"):
        raise InvalidParams("workflow_mode: must be workflow or chatflow")
    if page_num < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidParams(f"page_num must be >= 1 and page_size in 1..{MAX_PAGE_SIZE}")
    page = await uow.workflows.search(
        principal.workspace_id, mode=mode, published=published, page_num=page_num, page_size=page_size
    )
    return WorkflowPage(items=[WorkflowRecord.of(row) for row in page.items], total=page.total, has_more=page.has_more)


async def list_versions(
    uow: UnitOfWork, principal: Principal, workflow_id: str, *, page_size: int = 10, page_token: str | None = None
) -> VersionPage:
    """Newest first; the page token is the offset of the next page."""
    await _workflow(uow, principal, workflow_id)
    if not 1 <= page_size <= MAX_VERSIONS_PAGE:
        raise InvalidParams(f"page_size: must be in 1..{MAX_VERSIONS_PAGE}")
    offset = int(page_token) if page_token and page_token.isdigit() else 0
    rows = await uow.workflow_versions.newest(principal.workspace_id, workflow_id, offset=offset, limit=page_size + 1)
    more = len(rows) > page_size
    return VersionPage(
        items=[VersionRecord.of(row) for row in rows[:page_size]],
        has_more=more,
        next_page_token=str(offset + page_size) if more else None,
    )


async def published_document(
    uow: UnitOfWork, principal: Principal, workflow_id: str, *, draft: bool = False
) -> tuple[WorkflowRecord, str, WorkflowDoc]:
    """What a new run reads: the published version, else the draft (version ``"draft"``); with ``draft``, the
    draft as it is now whatever was published (a trial run's)."""
    row = await _workflow(uow, principal, workflow_id)
    version = "draft" if draft else row.published_version or "draft"
    return WorkflowRecord.of(row), version, await run_document(uow, principal.workspace_id, row.id, version)


async def run_document(uow: UnitOfWork, workspace_id: str, workflow_id: str, version: str) -> WorkflowDoc:
    """The document of one version of a workflow (``"draft"``: the draft as it is now)."""
    if version == "draft":
        draft = await uow.workflows.get(workspace_id, workflow_id)
        if draft is None:
            raise NotFound(f"workflow {workflow_id} not found")
        return parse_document(draft.document)
    row = await uow.workflow_versions.find(workspace_id, workflow_id, version)
    if row is None:
        raise NotFound(f"workflow {workflow_id} has no version {version}")
    return version_document((workflow_id, version), row.document)


async def _publish(uow: UnitOfWork, principal: Principal, row: Workflow) -> VersionRecord:
    stamp = now()
    version = WorkflowVersion(
        id=new_id(),
        workspace_id=row.workspace_id,
        workflow_id=row.id,
        version=new_id(),
        description=row.description,
        document=row.document,
        created_by=principal.user_id,
        created_at=stamp,
    )
    await uow.workflow_versions.add(version)
    row.published_version, row.published_at = version.version, stamp
    await uow.flush()
    facts = {"name": row.name, "version": version.version}
    audit.record(uow, audit.Actor.of(principal), "workflow.publish", row.workspace_id, ("workflow", row.id), **facts)
    return VersionRecord.of(version)


async def _workflow(uow: UnitOfWork, principal: Principal, workflow_id: str) -> Workflow:
    row = await uow.workflows.get(principal.workspace_id, workflow_id)
    if row is None:
        raise NotFound(f"workflow {workflow_id} not found")
    return row


def _set_draft(row: Workflow, doc: WorkflowDoc) -> None:
    row.name, row.description, row.mode, row.document = doc.name, doc.description, doc.kind, doc.to_json()
