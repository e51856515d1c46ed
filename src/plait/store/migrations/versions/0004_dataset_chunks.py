"""Dataset chunks in the database, shared by every worker; ingestion leases; a dataset's index version.

Documents ingested before this revision live only in the per-process folders that no worker reads any more, so
they are marked failed with a reason telling to upload them again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
REINDEX = "indexed by an earlier version of the server, whose index is gone; upload the document again"


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("index_version", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("chunk_count", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("dataset_documents") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.BigInteger(), nullable=True))
        batch.create_index(batch.f("ix_dataset_documents_status_lease_until"), ["status", "lease_until"], unique=False)
    op.create_table(
        "dataset_chunks",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("dataset_id", sa.String(length=32), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("meta", JSON, nullable=False),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_dataset_chunks_dataset_id_datasets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["dataset_documents.id"],
            name=op.f("fk_dataset_chunks_document_id_dataset_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_chunks")),
    )
    with op.batch_alter_table("dataset_chunks") as batch:
        batch.create_index(batch.f("ix_dataset_chunks_dataset_id"), ["dataset_id"], unique=False)
        batch.create_index(batch.f("ix_dataset_chunks_document_id_position"), ["document_id", "position"], unique=False)
    documents = sa.table("dataset_documents", sa.column("status", sa.Integer()), sa.column("error", sa.Text()))
    op.execute(documents.update().where(documents.c.status.in_((0, 1))).values(status=9, error=REINDEX))


def downgrade() -> None:
    op.drop_table("dataset_chunks")
    with op.batch_alter_table("dataset_documents") as batch:
        batch.drop_index(batch.f("ix_dataset_documents_status_lease_until"))
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("chunk_count")
        batch.drop_column("index_version")
