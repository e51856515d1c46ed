"""Memory: summaries of the turns a section's prompt no longer holds, users' long-term variables per bot, and
user sessions with a bot.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _workspace() -> sa.Column[str]:
    return sa.Column("workspace_id", sa.String(length=32), nullable=False)


def _cascade(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "conversation_summaries",
        sa.Column("section_id", sa.String(length=32), nullable=False),
        _workspace(),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("last_message_id", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        _cascade("conversation_summaries", "workspace_id", "workspaces"),
        _cascade("conversation_summaries", "conversation_id", "conversations"),
        sa.PrimaryKeyConstraint("section_id", name=op.f("pk_conversation_summaries")),
    )
    op.create_index(op.f("ix_conversation_summaries_workspace_id"), "conversation_summaries", ["workspace_id"])
    op.create_index(op.f("ix_conversation_summaries_conversation_id"), "conversation_summaries", ["conversation_id"])
    op.create_table(
        "user_variables",
        sa.Column("id", sa.String(length=32), nullable=False),
        _workspace(),
        sa.Column("bot_id", sa.String(length=32), nullable=False),
        sa.Column("connector_uid", sa.String(length=255), nullable=False),
        sa.Column("keyword", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        _cascade("user_variables", "workspace_id", "workspaces"),
        _cascade("user_variables", "bot_id", "bots"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_variables")),
        sa.UniqueConstraint(
            "bot_id", "connector_uid", "keyword", name=op.f("uq_user_variables_bot_id_connector_uid_keyword")
        ),
    )
    op.create_index(op.f("ix_user_variables_workspace_id"), "user_variables", ["workspace_id"])
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        _workspace(),
        sa.Column("bot_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("chat_count", sa.Integer(), nullable=False),
        sa.Column("last_conversation_id", sa.String(length=32), nullable=True),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("last_active_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("status IN ('active', 'idle')", name=op.f("ck_user_sessions_status")),
        _cascade("user_sessions", "workspace_id", "workspaces"),
        _cascade("user_sessions", "bot_id", "bots"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("bot_id", "user_id", name=op.f("uq_user_sessions_bot_id_user_id")),
    )
    op.create_index(op.f("ix_user_sessions_workspace_id"), "user_sessions", ["workspace_id"])
    op.create_index(op.f("ix_user_sessions_last_active_at"), "user_sessions", ["last_active_at"])


def downgrade() -> None:
    op.drop_table("user_sessions")
    op.drop_table("user_variables")
    op.drop_table("conversation_summaries")
