"""The typed records the faces show for workflows and their runs: what the API and the CLI render."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plait.store.tables import Workflow, WorkflowNodeRun, WorkflowRun, WorkflowVersion

RUN_MODES = {"sync": 0, "stream": 1, "async": 2}
INTERRUPT_TYPES = {"question": 2, "input": 5}  # Coze's interrupt_type of a question node and an input node


def debug_url(workflow_id: str, execute_id: str) -> str:
    """Plait has no trial-run page: the run's history is where its nodes are seen."""
    return f"/v1/workflows/{workflow_id}/run_histories/{execute_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowRecord:
    id: str
    workspace_id: str
    name: str
    description: str
    mode: str
    icon_url: str
    document: dict[str, Any]
    published_version: str | None
    created_by: str | None
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, row: Workflow) -> WorkflowRecord:
        return cls(
            id=row.id,
            workspace_id=row.workspace_id,
            name=row.name,
            description=row.description,
            mode=row.mode,
            icon_url=row.icon_url,
            document=row.document,
            published_version=row.published_version,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionRecord:
    workflow_id: str
    version: str
    description: str
    created_by: str | None
    created_at: int

    @classmethod
    def of(cls, row: WorkflowVersion) -> VersionRecord:
        return cls(
            workflow_id=row.workflow_id,
            version=row.version,
            description=row.description,
            created_by=row.created_by,
            created_at=row.created_at,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunUsage:
    input_count: int = 0
    output_count: int = 0

    @property
    def token_count(self) -> int:
        return self.input_count + self.output_count

    def to_json(self) -> dict[str, int]:
        return {"input_count": self.input_count, "output_count": self.output_count, "token_count": self.token_count}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunUsage:
        return cls(input_count=int(data.get("input_count", 0)), output_count=int(data.get("output_count", 0)))

    def __add__(self, other: RunUsage) -> RunUsage:
        return RunUsage(
            input_count=self.input_count + other.input_count, output_count=self.output_count + other.output_count
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeRunRecord:
    id: str
    node_id: str
    node_type: str
    node_title: str
    status: str
    inputs: Any
    outputs: Any
    error: str | None
    duration_ms: int | None
    updated_at: int

    @property
    def is_finish(self) -> bool:
        return self.status != "running"

    @classmethod
    def of(cls, row: WorkflowNodeRun) -> NodeRunRecord:
        return cls(
            id=row.id,
            node_id=row.node_id,
            node_type=row.node_type,
            node_title=row.node_title,
            status=row.status,
            inputs=row.inputs,
            outputs=row.outputs,
            error=row.error,
            duration_ms=row.duration_ms,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """A run as its history shows it; ``output`` is the JSON text of the end node's outputs."""

    id: str
    workflow_id: str
    version: str
    status: str
    run_mode: int
    bot_id: str | None
    connector_id: str
    connector_uid: str
    logid: str
    output: str | None
    error_code: int
    error_message: str
    usage: RunUsage
    interrupt: dict[str, Any] | None
    created_at: int
    updated_at: int
    nodes: list[NodeRunRecord] = field(default_factory=list)

    @classmethod
    def of(cls, row: WorkflowRun, nodes: list[WorkflowNodeRun] | None = None) -> RunRecord:
        return cls(
            id=row.id,
            workflow_id=row.workflow_id,
            version=row.version,
            status=row.status,
            run_mode=row.run_mode,
            bot_id=row.bot_id,
            connector_id=row.connector_id,
            connector_uid=row.connector_uid,
            logid=row.logid,
            output=row.output,
            error_code=row.error_code,
            error_message=row.error_message,
            usage=RunUsage.from_json(row.usage or {}),
            interrupt=row.interrupt,
            created_at=row.created_at,
            updated_at=row.updated_at,
            nodes=[NodeRunRecord.of(node) for node in nodes or []],
        )
