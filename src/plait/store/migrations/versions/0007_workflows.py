"""Workflows: documents and their published versions, runs (the Coze ``execute_id``) and the node executions
that are each run's checkpoints.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(length=32), nullable=False)


def _workspace() -> sa.Column[str]:
    return sa.Column("workspace_id", sa.String(length=32), nullable=False)


def _cascade(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def _stamp(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "workflows",
        _id(),
        _workspace(),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("icon_url", sa.String(length=1024), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("published_version", sa.String(length=32), nullable=True),
        sa.Column("published_at", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.CheckConstraint("mode IN ('workflow', 'chatflow')", name=op.f("ck_workflows_mode")),
        _cascade("workflows", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflows")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_workflows_workspace_id_name")),
    )
    op.create_index(op.f("ix_workflows_workspace_id"), "workflows", ["workspace_id"])
    op.create_table(
        "workflow_versions",
        _id(),
        _workspace(),
        sa.Column("workflow_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        _stamp("created_at"),
        _cascade("workflow_versions", "workspace_id", "workspaces"),
        _cascade("workflow_versions", "workflow_id", "workflows"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_versions")),
        sa.UniqueConstraint("workflow_id", "version", name=op.f("uq_workflow_versions_workflow_id_version")),
    )
    op.create_index(op.f("ix_workflow_versions_workspace_id"), "workflow_versions", ["workspace_id"])
    op.create_table(
        "workflow_runs",
        _id(),
        _workspace(),
        sa.Column("workflow_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_mode", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.String(length=32), nullable=True),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("connector_id", sa.String(length=32), nullable=False),
        sa.Column("connector_uid", sa.String(length=255), nullable=False),
        sa.Column("logid", sa.String(length=64), nullable=False),
        sa.Column("runner", sa.String(length=32), nullable=True),
        sa.Column("inputs", JSON, nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("usage", JSON, nullable=False),
        sa.Column("interrupt", JSON, nullable=True),
        sa.Column("state", JSON, nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.CheckConstraint(
            "status IN ('running', 'interrupted', 'success', 'fail')", name=op.f("ck_workflow_runs_status")
        ),
        _cascade("workflow_runs", "workspace_id", "workspaces"),
        _cascade("workflow_runs", "workflow_id", "workflows"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_runs")),
    )
    op.create_index(op.f("ix_workflow_runs_workspace_id"), "workflow_runs", ["workspace_id"])
    op.create_index(op.f("ix_workflow_runs_workflow_id_created_at"), "workflow_runs", ["workflow_id", "created_at"])
    op.create_index(op.f("ix_workflow_runs_status"), "workflow_runs", ["status"])
    op.create_table(
        "workflow_node_runs",
        _id(),
        _workspace(),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("node_type", sa.String(length=32), nullable=False),
        sa.Column("node_title", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("inputs", JSON, nullable=True),
        sa.Column("outputs", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.CheckConstraint(
            "status IN ('running', 'success', 'fail', 'interrupted')", name=op.f("ck_workflow_node_runs_status")
        ),
        _cascade("workflow_node_runs", "workspace_id", "workspaces"),
        _cascade("workflow_node_runs", "run_id", "workflow_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_node_runs")),
    )
    op.create_index(op.f("ix_workflow_node_runs_workspace_id"), "workflow_node_runs", ["workspace_id"])
    op.create_index(op.f("ix_workflow_node_runs_run_id_node_id"), "workflow_node_runs", ["run_id", "node_id"])


def downgrade() -> None:
    op.drop_table("workflow_node_runs")
    op.drop_table("workflow_runs")
    op.drop_table("workflow_versions")
    op.drop_table("workflows")
