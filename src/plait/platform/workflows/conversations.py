"""A chatflow's conversation as its conversation_history and create_message nodes reach it: the messages of
the conversation's current section (what a bot's context reads; clearing the context starts a new one), and
adding a message through the same use case as Coze's ``message/create``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plait.platform.access import Principal
from plait.platform.chat.service import HISTORY_ROWS_PER_ROUND
from plait.platform.conversations import NewMessage, create_message
from plait.platform.errors import NotFound
from plait.store import Database
from plait.workflows.ports import ConversationMessage

SAID = ("question", "answer")  # what a history shows: not tool calls, verbose or follow-up suggestions


class RunConversations:
    """``Conversations`` over one workspace's conversations, acting as the run's user."""

    def __init__(self, database: Database, principal: Principal) -> None:
        self._database = database
        self._principal = principal

    async def recent_messages(
        self, conversation_id: str, limit: int, system: Mapping[str, Any]
    ) -> Sequence[ConversationMessage]:
        async with self._database.unit_of_work() as uow:
            found = await uow.conversations.with_history(
                self._principal.workspace_id, conversation_id, limit * HISTORY_ROWS_PER_ROUND
            )
        if found is None:
            raise NotFound(f"conversation {conversation_id} not found")
        said = [entry for entry in found.entries if entry.type in SAID]
        return [
            ConversationMessage(id=entry.id, role=entry.role, content=entry.content, content_type=entry.content_type)
            for entry in said[-limit:]
        ]

    async def add_message(
        self, conversation_id: str, role: str, content: str, system: Mapping[str, Any]
    ) -> ConversationMessage:
        new = NewMessage(role=role, content=content, content_type="text", meta_data={})
        async with self._database.unit_of_work() as uow:
            added = await create_message(uow, self._principal, conversation_id, new)
        return ConversationMessage(id=added.id, role=added.role, content=added.content, content_type=added.content_type)
