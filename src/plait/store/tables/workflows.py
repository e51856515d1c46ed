"""Workflows: a workspace's workflow documents (a draft and frozen published versions), their runs, and each
run's node executions, which are also the run's checkpoints: a node with a finished row is never run again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plait.store.base import (
    Base,
    Id,
    Json,
    JsonType,
    Name,
    OptionalJson,
    OptionalTimestamp,
    Timestamp,
    UpdatedAt,
    parent_fk,
    workspace_fk,
)

WORKFLOW_MODES = ("workflow", "chatflow")
RUN_STATUSES = ("running", "interrupted", "success", "fail")
NODE_STATUSES = ("running", "success", "fail", "interrupted")


class Workflow(Base):
    """The draft ``document`` (the DSL as JSON) is what writers edit; runs read ``published_version``'s."""

    __tablename__ = "workflows"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    name: Mapped[Name]
    description: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[str] = mapped_column(String(16), default="workflow")
    icon_url: Mapped[str] = mapped_column(String(1024), default="")
    document: Mapped[Json]
    published_version: Mapped[str | None] = mapped_column(String(32))
    published_at: Mapped[OptionalTimestamp]
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        CheckConstraint("mode IN ('workflow', 'chatflow')", name="mode"),
    )


class WorkflowVersion(Base):
    """A published snapshot of a workflow's document; never changed once written."""

    __tablename__ = "workflow_versions"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    workflow_id: Mapped[str] = parent_fk("workflows.id")
    version: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[Json]
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[Timestamp]

    __table_args__ = (UniqueConstraint("workflow_id", "version"),)


class WorkflowRun(Base):
    """One execution (Coze's ``execute_id``). ``runner`` is the worker instance driving it, so the sweep finds
    runs whose process died; ``interrupt`` is the question a paused run waits on; ``state`` what the engine
    saved beyond the finished nodes (variables, the resume answers given so far)."""

    __tablename__ = "workflow_runs"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    workflow_id: Mapped[str] = parent_fk("workflows.id")
    version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="running")
    run_mode: Mapped[int] = mapped_column(Integer, default=0)
    bot_id: Mapped[str | None] = mapped_column(String(32))
    conversation_id: Mapped[str | None] = mapped_column(String(32))
    connector_id: Mapped[str] = mapped_column(String(32), default="1024")
    connector_uid: Mapped[str] = mapped_column(String(255), default="")
    logid: Mapped[str] = mapped_column(String(64), default="")
    runner: Mapped[str | None] = mapped_column(String(32))
    inputs: Mapped[Json]
    output: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[int] = mapped_column(Integer, default=0)
    error_message: Mapped[str] = mapped_column(Text, default="")
    usage: Mapped[Json]
    interrupt: Mapped[OptionalJson]
    state: Mapped[OptionalJson]
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (
        Index(None, "workflow_id", "created_at"),
        Index(None, "status"),
        CheckConstraint("status IN ('running', 'interrupted', 'success', 'fail')", name="status"),
    )


class WorkflowNodeRun(Base):
    """One node's execution in a run (Coze's ``node_execute_uuid``): its inputs, outputs, error and duration."""

    __tablename__ = "workflow_node_runs"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    run_id: Mapped[str] = parent_fk("workflow_runs.id")
    node_id: Mapped[str] = mapped_column(String(64))
    node_type: Mapped[str] = mapped_column(String(32), default="")
    node_title: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16))
    inputs: Mapped[Any] = mapped_column(JsonType, nullable=True)
    outputs: Mapped[Any] = mapped_column(JsonType, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (
        Index(None, "run_id", "node_id"),
        CheckConstraint("status IN ('running', 'success', 'fail', 'interrupted')", name="status"),
    )
