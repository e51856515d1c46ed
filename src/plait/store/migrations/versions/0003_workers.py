"""Worker slots (unique ids across hosts, and who runs each chat), so a chat whose process died is failed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 15:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("instance", sa.String(length=32), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_workers")),
        sa.UniqueConstraint("instance", name=op.f("uq_workers_instance")),
    )
    op.create_index(op.f("ix_workers_heartbeat_at"), "workers", ["heartbeat_at"], unique=False)
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("runner", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_chats_status_runner"), ["status", "runner"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_index(batch.f("ix_chats_status_runner"))
        batch.drop_column("runner")
    op.drop_index(op.f("ix_workers_heartbeat_at"), table_name="workers")
    op.drop_table("workers")
