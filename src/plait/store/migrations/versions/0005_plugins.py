"""Plugins (OpenAPI documents, MCP servers) as workspace resources bots name; bots list the tools whose calls
wait for approval.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "plugins",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", JSON, nullable=False),
        sa.Column("auth", JSON, nullable=False),
        sa.Column("encrypted_secret", sa.LargeBinary(), nullable=True),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("operations", JSON, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("kind IN ('openapi', 'mcp')", name=op.f("ck_plugins_kind")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_plugins_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plugins")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_plugins_workspace_id_name")),
    )
    with op.batch_alter_table("plugins") as batch:
        batch.create_index(batch.f("ix_plugins_workspace_id"), ["workspace_id"], unique=False)
    with op.batch_alter_table("bots") as batch:
        batch.add_column(sa.Column("approve_before", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.drop_column("approve_before")
    op.drop_table("plugins")
