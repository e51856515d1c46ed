"""Bots get client-side tools: function specs whose calls the client answers (``requires_action``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.add_column(sa.Column("tools", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.drop_column("tools")
