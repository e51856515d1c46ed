"""What a chat run needs, loaded before it starts, and the rows of a chat and its messages made with their ids
and times set, so they can be shown before (or without) being saved."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from plait.platform.bot_config import BotConfig
from plait.platform.conversations import ConversationRecord
from plait.platform.memory.recall import Recall
from plait.schema import Message as ChatMessage
from plait.schema import ToolSpec
from plait.store import UnitOfWork, new_id
from plait.store.base import Base, now
from plait.store.tables import Chat, Message


@dataclass(slots=True, kw_only=True)
class ChatJob:
    """Everything a run needs: the run touches the database only to save."""

    chat: Chat
    config: BotConfig
    history: list[ChatMessage]  # the section's context, oldest first, this chat's entered messages included
    custom_variables: dict[str, str]
    auto_save: bool
    user_variables: dict[str, str] = field(default_factory=dict)  # the user's long-term ones (memory.variables)
    recall: Recall = field(default_factory=Recall)  # the section's summary, and what the prompt left out
    client_tools: list[ToolSpec] = field(default_factory=list)  # beyond the bot's own (an OpenAI request's)
    # Rows not inserted yet: the chat and its entered messages, when the request deferred them to the run's
    # first save. A non-streamed chat's id reaches its client only with the answer, so nobody can ask for it
    # sooner; a fast answer then costs one write transaction instead of two.
    unsaved: list[Base] = field(default_factory=list)  # with a new conversation's rows, when it opens one
    saving: asyncio.Lock = field(default_factory=asyncio.Lock)  # one save at a time: the insert comes first


def new_chat(
    conversation: ConversationRecord, bot_id: str, user_id: str, meta_data: dict[str, str], runner: str
) -> Chat:
    """A running chat with its id and times set now, to insert at once or with the run's first save."""
    stamp = now()
    return Chat(
        id=new_id(),
        created_at=stamp,
        updated_at=stamp,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        section_id=conversation.last_section_id,
        bot_id=bot_id,
        user_id=user_id,
        runner=runner,
        status="in_progress",
        meta_data=meta_data,
    )


def chat_message(
    chat: Chat,
    *,
    role: str,
    kind: str,
    content: str,
    content_type: str = "text",
    meta_data: dict[str, str] | None = None,
    message_id: str | None = None,
) -> Message:
    """A message row of ``chat``: what the client entered, and what the run produces."""
    stamp = now()
    return Message(
        id=message_id or new_id(),
        workspace_id=chat.workspace_id,
        conversation_id=chat.conversation_id,
        section_id=chat.section_id,
        chat_id=chat.id,
        bot_id=chat.bot_id,
        role=role,
        type=kind,
        content=content,
        content_type=content_type,
        meta_data=meta_data or {},
        reasoning_content=None,  # set on every row: a turn's messages then share one INSERT (insert_rows)
        created_at=stamp,
        updated_at=stamp,
    )


async def insert_rows(uow: UnitOfWork, rows: Sequence[Chat | Message]) -> None:
    """Insert a chat's new rows (the chat first, when it is among them) with plain INSERTs: a turn's rows are
    whole once made, so they need none of the ORM's unit of work."""
    chats = [row for row in rows if isinstance(row, Chat)]
    messages = [row for row in rows if isinstance(row, Message)]
    if chats:
        await uow.chats.insert_new(chats)
    if messages:
        await uow.messages.insert_new(messages)
