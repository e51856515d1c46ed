"""Published workflows as tools: of a bot that lists them (Coze's ``workflow_id_list``) and of the MCP
server. A call is a run like any other (it has a history); the tool's result is the run's outputs, or why it
failed or paused."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plait.platform.access import Principal
from plait.platform.errors import InvalidParams, NotFound
from plait.platform.unit_of_work import UnitOfWork
from plait.platform.workflows.catalog import run_document
from plait.platform.workflows.runner import WorkflowRunner
from plait.platform.workflows.runs import RunRequest, start_run
from plait.schema import ToolSpec
from plait.store import Database
from plait.tools.errors import ToolError
from plait.tools.tool_names import safe_name, unique_names
from plait.workflows.dsl import WorkflowDoc
from plait.workflows.types import element_type

JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean", "object": "object"}


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowToolInfo:
    name: str
    title: str  # the workflow's own name
    description: str
    workflow_id: str
    parameters: dict[str, Any]  # JSON Schema of the workflow's inputs


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolOutcome:
    text: str
    ok: bool


async def workflow_tools(
    uow: UnitOfWork, principal: Principal, ids: Sequence[str] | None = None, *, taken: Sequence[str] = ()
) -> list[WorkflowToolInfo]:
    """The published workflows (all of them, or those among ``ids``), named apart from ``taken`` names."""
    rows = await (uow.workflows.published(principal.workspace_id) if ids is None else _among(uow, principal, ids))
    tools = []
    names = unique_names([*taken, *(safe_name(row.name, f"workflow_{row.id}") for row in rows)])[len(taken) :]
    for name, row in zip(names, rows, strict=True):
        doc = await run_document(uow, principal.workspace_id, row.id, row.published_version or "draft")
        about = row.description.strip() or f"Run the workflow {row.name!r}."
        tools.append(
            WorkflowToolInfo(name=name, title=row.name, description=about, workflow_id=row.id, parameters=schema(doc))
        )
    return tools


async def _among(uow: UnitOfWork, principal: Principal, ids: Sequence[str]) -> list[Any]:
    rows = await uow.workflows.among(principal.workspace_id, ids)
    return [row for row in rows if row.published_version is not None]


def schema(doc: WorkflowDoc) -> dict[str, Any]:
    """The JSON Schema of a workflow's declared inputs."""
    properties = {param.name: _type(param.type) | _about(param.description) for param in doc.inputs}
    required = [param.name for param in doc.inputs if param.required and param.default is None]
    return {"type": "object", "properties": properties, "required": required}


def _type(type_name: str) -> dict[str, Any]:
    item = element_type(type_name)
    if item is not None:
        return {"type": "array", "items": _type(item) if item != "any" else {}}
    return {"type": JSON_TYPES[type_name]} if type_name in JSON_TYPES else {}


def _about(description: str) -> dict[str, str]:
    return {"description": description} if description else {}


async def run_tool(
    uow: UnitOfWork, principal: Principal, runner: WorkflowRunner, workflow_id: str, arguments: Mapping[str, Any]
) -> ToolOutcome:
    """Run the workflow to its end; bad arguments and failures are outcomes a model reads, not exceptions."""
    try:
        execution = await start_run(
            uow, principal, runner, RunRequest(workflow_id=workflow_id, parameters=dict(arguments), run_mode=0)
        )
    except (InvalidParams, NotFound) as exc:
        return ToolOutcome(text=exc.msg, ok=False)
    assert execution.task is not None
    await execution.task
    if execution.status == "success":
        return ToolOutcome(text=execution.output, ok=True)
    if execution.status == "interrupted":
        return ToolOutcome(text="the workflow waits for a person's answer; it cannot run as a tool", ok=False)
    return ToolOutcome(text=execution.error_message, ok=False)


class WorkflowTool:
    """One published workflow as a chat's tool (``plait.components.tool.Tool``)."""

    def __init__(
        self, info: WorkflowToolInfo, database: Database, runner: WorkflowRunner, principal: Principal
    ) -> None:
        self.spec = ToolSpec(name=info.name, description=info.description, parameters=info.parameters)
        self._info, self._database, self._runner, self._principal = info, database, runner, principal

    async def call(self, arguments: Mapping[str, Any]) -> Any:
        async with self._database.unit_of_work() as uow:
            outcome = await run_tool(uow, self._principal, self._runner, self._info.workflow_id, arguments)
        if not outcome.ok:
            raise ToolError(f"workflow {self._info.title!r}: {outcome.text}")
        return outcome.text


class BotWorkflows:
    """What the chat runner asks for a bot's workflow tools."""

    def __init__(self, database: Database, runner: WorkflowRunner) -> None:
        self._database = database
        self._runner = runner

    async def for_bot(self, workspace_id: str, workflow_ids: Sequence[str], *, taken: set[str]) -> list[WorkflowTool]:
        principal = Principal(key_id="", user_id="", workspace_id=workspace_id, role="member")
        async with self._database.unit_of_work() as uow:
            infos = await workflow_tools(uow, principal, workflow_ids, taken=sorted(taken))
        return [WorkflowTool(info, self._database, self._runner, principal) for info in infos]
