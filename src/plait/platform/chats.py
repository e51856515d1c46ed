"""Chats (one bot run each): starting one, resuming it with tool outputs, reading and cancelling it.

Starting a chat writes the chat record (``in_progress``) and the entered messages and reads the section's
history, all in the caller's unit of work; the caller commits before the run starts, so ``chat/retrieve`` and
message lists see the chat from its first moment. The run itself is the chat runner's (``chat_runner``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from plait.platform.access import Principal
from plait.platform.bots import BotRecord, get_bot, published_bot
from plait.platform.chat_prompt import DEFAULT_ROUNDS, StoredMessage, to_messages
from plait.platform.conversations import NewMessage, check_content, create_conversation
from plait.platform.errors import ChatNotCancelable, InvalidParams, NotFound
from plait.schema import Message as ChatMessage
from plait.schema import ToolSpec
from plait.store import UnitOfWork, new_id
from plait.store.base import now
from plait.store.models import Chat, Conversation, Message
from plait.store.repositories.conversations import HistoryEntry

BOT_PREFIX = "bot:"  # how the OpenAI API names a bot as a model
TERMINAL = frozenset({"completed", "failed", "canceled"})
HISTORY_ROWS_PER_ROUND = 4  # a question and its answer, room for a tool call and its output


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatRequest:
    bot_id: str
    conversation_id: str | None
    user_id: str | None
    messages: list[NewMessage]
    custom_variables: dict[str, str] = field(default_factory=dict)
    meta_data: dict[str, str] = field(default_factory=dict)
    auto_save_history: bool = True
    defer: bool = False  # let the run insert the chat and its messages (see ChatJob.unsaved)


@dataclass(slots=True, kw_only=True)
class ChatJob:
    """Everything a run needs, loaded before it starts: the run touches the database only to save."""

    chat: Chat
    config: dict[str, Any]
    history: list[ChatMessage]  # the section's context, oldest first, this chat's entered messages included
    custom_variables: dict[str, str]
    auto_save: bool
    client_tools: list[ToolSpec] = field(default_factory=list)  # beyond the bot's own (an OpenAI request's)
    # Rows not inserted yet: the chat and its entered messages, when the request deferred them to the run's
    # first save. A non-streamed chat's id reaches its client only with the answer, so nobody can ask for it
    # sooner; a fast answer then costs one write transaction instead of two.
    unsaved: list[Chat | Message] = field(default_factory=list)
    saving: asyncio.Lock = field(default_factory=asyncio.Lock)  # one save at a time: the insert comes first


async def start_chat(uow: UnitOfWork, principal: Principal, request: ChatRequest) -> ChatJob:
    principal.require_writer()
    if not request.messages and request.conversation_id is None:
        raise InvalidParams("additional_messages: a chat in a new conversation needs at least one message")
    for index, message in enumerate(request.messages):
        check_content(message.content_type, message.content, f"additional_messages[{index}].content")
    record = await _bot_for_chat(uow, principal, request.bot_id)
    if request.conversation_id is None:
        conversation = await create_conversation(
            uow, principal, bot_id=record.bot.id, name=None, meta_data={}, connector_id=None, messages=[]
        )
        rows: Sequence[StoredMessage] = []  # a new conversation has no history
    else:
        conversation, rows = await _with_history(uow, principal, request.conversation_id, record.config)
    last = request.messages[-1] if request.messages else rows[-1] if rows else None
    if last is None or last.role != "user":
        raise InvalidParams("additional_messages: the conversation must end with a user message for the bot to answer")
    chat = _new_chat(conversation, record.bot.id, request.user_id or principal.user_id, request.meta_data)
    entered = [_entered(chat, message) for message in request.messages]
    unsaved: list[Chat | Message] = [chat, *(entered if request.auto_save_history else [])]
    if not request.defer:
        uow.session.add_all(unsaved)  # written when the caller commits, before the run starts
        unsaved = []
    history = to_messages([*rows, *entered])
    return ChatJob(
        chat=chat,
        config=record.config,
        history=history,
        custom_variables=request.custom_variables,
        auto_save=request.auto_save_history,
        unsaved=unsaved,
    )


async def start_completion(
    uow: UnitOfWork, principal: Principal, bot_ref: str, messages: list[ChatMessage], tools: list[ToolSpec]
) -> ChatJob:
    """A chat from an OpenAI-style request, which carries its whole history: it runs in a conversation of its
    own, which keeps the last user message and the answer, so the exchange shows in the bot's logs.
    ``bot_ref`` is ``bot:<id>`` or a bot's name."""
    principal.require_writer()
    if bot_ref.startswith(BOT_PREFIX):
        bot_id = bot_ref.removeprefix(BOT_PREFIX)
    else:
        named = await uow.bots.named(principal.workspace_id, bot_ref)
        if named is None:
            raise NotFound(f"no bot named {bot_ref!r}")
        bot_id = named.id
    if not messages or messages[-1].role not in ("user", "tool"):
        raise InvalidParams("messages: the conversation must end with a user or tool message for the bot to answer")
    record = await _bot_for_chat(uow, principal, bot_id)
    last = messages[-1]
    entered = (
        [NewMessage(role="user", content=last.text, content_type="text", meta_data={})] if last.role == "user" else []
    )
    conversation = await create_conversation(
        uow, principal, bot_id=record.bot.id, name=None, meta_data={}, connector_id="openai", messages=[]
    )
    chat = await uow.chats.add(_new_chat(conversation, record.bot.id, principal.user_id, {}))
    for message in entered:
        await uow.messages.add(_entered(chat, message))
    return ChatJob(
        chat=chat, config=record.config, history=messages, custom_variables={}, auto_save=True, client_tools=tools
    )


async def resume_chat(
    uow: UnitOfWork, principal: Principal, conversation_id: str, chat_id: str, outputs: dict[str, str]
) -> ChatJob:
    """Save the client's tool outputs and put the chat back in progress; every pending call needs one."""
    principal.require_writer()
    chat = await get_chat(uow, principal, conversation_id, chat_id)
    if chat.status != "requires_action" or chat.required_action is None:
        raise InvalidParams(f"chat {chat_id} is {chat.status}, not waiting for tool outputs")
    pending = [call["id"] for call in chat.required_action["submit_tool_outputs"]["tool_calls"]]
    if unknown := sorted(set(outputs) - set(pending)):
        raise InvalidParams(f"tool_outputs: chat {chat_id} did not call {', '.join(unknown)}")
    if missing := [call_id for call_id in pending if call_id not in outputs]:
        raise InvalidParams(f"tool_outputs: no output for tool call {', '.join(missing)}")
    if not chat.required_action.get("_saved", True):
        raise InvalidParams(f"chat {chat_id} ran with auto_save_history=false: its context was not kept to resume")
    variables = chat.required_action.get("_custom_variables", {})
    record = await _bot_for_chat(uow, principal, chat.bot_id or "")
    _, rows = await _with_history(uow, principal, conversation_id, record.config)
    entered = [
        chat_message(
            chat, role="assistant", kind="tool_output", content=outputs[call_id], meta_data={"tool_call_id": call_id}
        )
        for call_id in pending
    ]
    uow.session.add_all(entered)
    chat.status, chat.required_action = "in_progress", None
    history = to_messages([*rows, *entered])
    return ChatJob(chat=chat, config=record.config, history=history, custom_variables=variables, auto_save=True)


async def get_chat(uow: UnitOfWork, principal: Principal, conversation_id: str, chat_id: str) -> Chat:
    chat = await uow.chats.find(principal.workspace_id, conversation_id, chat_id)
    if chat is None:
        raise NotFound(f"chat {chat_id} not found in conversation {conversation_id}")
    return chat


async def chat_messages(uow: UnitOfWork, principal: Principal, conversation_id: str, chat_id: str) -> list[Message]:
    await get_chat(uow, principal, conversation_id, chat_id)
    return await uow.messages.for_chat(principal.workspace_id, conversation_id, chat_id)


async def mark_canceled(uow: UnitOfWork, principal: Principal, conversation_id: str, chat_id: str) -> Chat:
    """Cancel a chat no run of this process holds (waiting for tool outputs, or run elsewhere)."""
    principal.require_writer()
    chat = await get_chat(uow, principal, conversation_id, chat_id)
    if chat.status in TERMINAL:
        raise ChatNotCancelable(f"chat {chat_id} is already {chat.status}")
    chat.status, chat.required_action = "canceled", None
    await uow.flush()
    return chat


async def _bot_for_chat(uow: UnitOfWork, principal: Principal, bot_id: str) -> BotRecord:
    """The published version; the bot's owner may chat with a draft that was never published."""
    try:
        return await published_bot(uow, principal, bot_id)
    except NotFound:
        draft = await get_bot(uow, principal, bot_id, published=False)
        if draft.bot.owner_user_id != principal.user_id:
            raise
        return draft


async def _with_history(
    uow: UnitOfWork, principal: Principal, conversation_id: str, config: dict[str, Any]
) -> tuple[Conversation, list[HistoryEntry]]:
    """The conversation and its current section's latest messages: a bot's context (read before any write, so
    a chat holds SQLite's write lock briefly)."""
    rounds = (config.get("model_info") or {}).get("context_round") or DEFAULT_ROUNDS
    found = await uow.conversations.with_history(
        principal.workspace_id, conversation_id, rounds * HISTORY_ROWS_PER_ROUND
    )
    if found is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return found


def _new_chat(conversation: Conversation, bot_id: str, user_id: str, meta_data: dict[str, str]) -> Chat:
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
    """A message row of ``chat`` with its id and times set now, so it can be shown before (or without) being
    saved: what the client entered, and what the run produces."""
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
        created_at=stamp,
        updated_at=stamp,
    )


def _entered(chat: Chat, message: NewMessage) -> Message:
    return chat_message(
        chat,
        role=message.role,
        kind=message.kind,
        content=message.content,
        content_type=message.content_type,
        meta_data=message.meta_data,
    )
