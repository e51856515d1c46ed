"""Wire schemas of the Coze workflow endpoints as cozepy 0.20 sends and parses them, and the views of
workflows, versions and run histories."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, Field, field_validator

from plait.platform.workflows.records import NodeRunRecord, RunRecord, VersionRecord, WorkflowRecord, debug_url
from plait.server.coze.conversation_schemas import EnterMessage

EXECUTE_STATUS = {"running": "Running", "interrupted": "Running", "success": "Success", "fail": "Fail"}


def _parameters(value: Any) -> Any:
    """Coze takes ``parameters`` as an object or as the JSON text of one."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value) if value.strip() else {}
        except orjson.JSONDecodeError:
            raise ValueError("must be an object or the JSON text of one") from None
    if value is not None and not isinstance(value, dict):
        raise ValueError("must be an object or the JSON text of one")
    return value


class RunBody(BaseModel):
    workflow_id: str = Field(min_length=1)
    parameters: dict[str, Any] | None = None
    bot_id: str | None = None
    app_id: str | None = None
    is_async: bool | None = None
    ext: dict[str, Any] | None = None

    _check_parameters = field_validator("parameters", mode="before")(_parameters)


class ResumeBody(BaseModel):
    workflow_id: str = Field(min_length=1)
    event_id: str = Field(min_length=1)
    resume_data: str
    interrupt_type: int


class WorkflowChatBody(BaseModel):
    workflow_id: str = Field(min_length=1)
    additional_messages: list[EnterMessage] | None = None
    parameters: dict[str, Any] | None = None
    conversation_id: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    ext: dict[str, Any] | None = None

    _check_parameters = field_validator("parameters", mode="before")(_parameters)


class WorkflowBody(BaseModel):
    """Plait's create and update: the workflow file's content, and whether to publish it at once."""

    document: dict[str, Any]
    publish: bool = False


def workflow_view(workflow: WorkflowRecord, creator_name: str = "") -> dict[str, Any]:
    return {
        "workflow_id": workflow.id,
        "workflow_name": workflow.name,
        "description": workflow.description,
        "icon_url": workflow.icon_url,
        "app_id": "",
        "created_at": workflow.created_at,
        "updated_at": workflow.updated_at,
        "creator": {"id": workflow.created_by or "", "name": creator_name},
        "workflow_mode": workflow.mode,
        "published_version": workflow.published_version,
    }


def version_view(version: VersionRecord) -> dict[str, Any]:
    return {
        "version": version.version,
        "description": version.description,
        "created_at": str(version.created_at),
        "updated_at": str(version.created_at),
        "workflow_id": version.workflow_id,
        "creator": {"id": version.created_by or "", "name": ""},
    }


def history_view(run: RunRecord) -> dict[str, Any]:
    return {
        "execute_id": run.id,
        "execute_status": EXECUTE_STATUS[run.status],
        "bot_id": run.bot_id or "0",
        "connector_id": run.connector_id,
        "connector_uid": run.connector_uid,
        "run_mode": run.run_mode,
        "logid": run.logid,
        "create_time": run.created_at,
        "update_time": run.updated_at,
        "output": run.output or "",
        "error_code": run.error_code,
        "error_message": run.error_message,
        "debug_url": debug_url(run.workflow_id, run.id),
        "is_output_trimmed": False,
        "usage": run.usage.to_json(),
        "node_execute_status": {node.node_id: _node_status(node) for node in run.nodes},
    }


def _node_status(node: NodeRunRecord) -> dict[str, Any]:
    return {
        "node_id": node.node_id,
        "is_finish": node.is_finish,
        "update_time": node.updated_at,
        "node_execute_uuid": node.id,
    }


def node_view(node: NodeRunRecord) -> dict[str, Any]:
    """What ``execute_nodes`` shows: the output as JSON text, as Coze does; Plait adds the rest of the row."""
    output = orjson.dumps(node.outputs).decode() if node.outputs is not None else ""
    return {
        "is_finish": node.is_finish,
        "node_output": output,
        "node_id": node.node_id,
        "node_type": node.node_type,
        "node_title": node.node_title,
        "status": node.status,
        "input": node.inputs,
        "error": node.error,
        "duration_ms": node.duration_ms,
    }
