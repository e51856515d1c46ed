"""Chats (one bot run each): starting one, resuming it with tool outputs, reading and cancelling it.

Starting a chat reads the bot and the section's history in the caller's unit of work, ends it, then inserts
the chat record (``in_progress``), the entered messages and a new conversation's rows with the group commit
(store/group_commit.py) and starts the run, so ``chat/retrieve`` and message lists see the chat from its first
event. A non-streamed chat may instead defer its rows to the run's first save (`ChatJob.unsaved`). Status
changes that race (two submits, a submit and a cancel) are conditional updates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from plait.platform.access import Principal
from plait.platform.bot_config import BotConfig
from plait.platform.bots import BotRecord, get_bot, published_bot
from plait.platform.chat.jobs import ChatJob, chat_message, new_chat
from plait.platform.chat.records import TERMINAL, ChatState, MessageRecord
from plait.platform.chat.runner import ChatRunner, Run
from plait.platform.chat_prompt import DEFAULT_ROUNDS, to_messages
from plait.platform.conversations import ConversationRecord, NewMessage, check_content, new_conversation
from plait.platform.errors import ChatNotCancelable, InvalidParams, NotFound
from plait.platform.memory.recall import IdentifiedMessage, Recall
from plait.platform.memory.variables import user_values
from plait.schema import Message as ChatMessage
from plait.schema import ToolSpec
from plait.store import UnitOfWork
from plait.store.base import Base
from plait.store.repositories.conversations import HistoryEntry
from plait.store.tables import Chat, Message

BOT_PREFIX = "bot:"  # how the OpenAI API names a bot as a model
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
    draft: bool = False  # run the bot's draft, even when it has a published version (the studio's playground)


async def start_chat(uow: UnitOfWork, principal: Principal, runner: ChatRunner, request: ChatRequest) -> Run:
    principal.require_writer()
    if not request.messages and request.conversation_id is None:
        raise InvalidParams("additional_messages: a chat in a new conversation needs at least one message")
    for index, message in enumerate(request.messages):
        check_content(message.content_type, message.content, f"additional_messages[{index}].content")
    if request.draft:
        record = await get_bot(uow, principal, request.bot_id, published=False)
    else:
        record = await _bot_for_chat(uow, principal, request.bot_id)
    opened: tuple[Base, ...] = ()  # a new conversation's rows, inserted with the chat's
    if request.conversation_id is None:
        opened = new_conversation(principal, bot_id=record.bot.id)  # the bot is checked
        conversation = ConversationRecord.of(opened[0])
        history = _History(rows=[])  # a new conversation has no history
    else:
        conversation, history = await _with_history(uow, principal, request.conversation_id, record.config)
    rows = history.rows
    last = request.messages[-1] if request.messages else rows[-1] if rows else None
    if last is None or last.role != "user":
        raise InvalidParams("additional_messages: the conversation must end with a user message for the bot to answer")
    user_id = request.user_id or principal.user_id
    chat = new_chat(conversation, record.bot.id, user_id, request.meta_data, runner.instance)
    entered = [_entered(chat, message) for message in request.messages]
    new_rows: list[Base] = [*opened, chat, *(entered if request.auto_save_history else [])]
    job = ChatJob(
        chat=chat,
        config=record.config,
        history=to_messages([*rows, *entered]),
        custom_variables=request.custom_variables,
        user_variables=await user_values(uow, principal.workspace_id, record.bot.id, record.config, user_id),
        recall=history.recall([*rows, *entered]),
        auto_save=request.auto_save_history,
        unsaved=new_rows if request.defer else [],
    )
    return await _commit_and_run(uow, runner, job, [] if request.defer else new_rows)


async def start_completion(
    uow: UnitOfWork,
    principal: Principal,
    runner: ChatRunner,
    bot_ref: str,
    messages: list[ChatMessage],
    tools: list[ToolSpec],
) -> Run:
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
    opened = new_conversation(principal, bot_id=record.bot.id, connector_id="openai")
    chat = new_chat(ConversationRecord.of(opened[0]), record.bot.id, principal.user_id, {}, runner.instance)
    new_rows: list[Base] = [*opened, chat]
    if last.role == "user":
        new_rows.append(_entered(chat, NewMessage(role="user", content=last.text, content_type="text", meta_data={})))
    job = ChatJob(
        chat=chat, config=record.config, history=messages, custom_variables={}, auto_save=True, client_tools=tools
    )
    return await _commit_and_run(uow, runner, job, new_rows)


async def resume_chat(
    uow: UnitOfWork,
    principal: Principal,
    runner: ChatRunner,
    conversation_id: str,
    chat_id: str,
    outputs: dict[str, str],
) -> Run:
    """Save the client's tool outputs and put the chat back in progress; every pending call needs one."""
    principal.require_writer()
    chat = await _chat(uow, principal, conversation_id, chat_id)
    pending = ChatState.of(chat).pending
    if chat.status != "requires_action" or pending is None:
        raise InvalidParams(f"chat {chat_id} is {chat.status}, not waiting for tool outputs")
    call_ids = [call.id for call in pending.calls]
    if unknown := sorted(set(outputs) - set(call_ids)):
        raise InvalidParams(f"tool_outputs: chat {chat_id} did not call {', '.join(unknown)}")
    if missing := [call_id for call_id in call_ids if call_id not in outputs]:
        raise InvalidParams(f"tool_outputs: no output for tool call {', '.join(missing)}")
    if not pending.history_saved:
        raise InvalidParams(f"chat {chat_id} ran with auto_save_history=false: its context was not kept to resume")
    record = await _bot_for_chat(uow, principal, chat.bot_id or "")
    _, history = await _with_history(uow, principal, conversation_id, record.config)
    if not await uow.chats.resume(principal.workspace_id, chat_id, runner.instance):
        raise InvalidParams(f"chat {chat_id} is no longer waiting for tool outputs")  # a concurrent submit or cancel
    entered = [
        chat_message(
            chat, role="assistant", kind="tool_output", content=outputs[call_id], meta_data={"tool_call_id": call_id}
        )
        for call_id in call_ids
    ]
    uow.add_new(*entered)
    chat.status, chat.required_action, chat.runner = "in_progress", None, runner.instance
    user_id = chat.user_id or principal.user_id
    job = ChatJob(
        chat=chat,
        config=record.config,
        history=to_messages([*history.rows, *entered]),
        custom_variables=pending.custom_variables,
        user_variables=await user_values(uow, principal.workspace_id, record.bot.id, record.config, user_id),
        recall=history.recall([*history.rows, *entered]),
        auto_save=True,
    )
    return await _commit_and_run(uow, runner, job)


async def get_chat(
    uow: UnitOfWork, principal: Principal, runner: ChatRunner, conversation_id: str, chat_id: str
) -> ChatState:
    chat = await _chat(uow, principal, conversation_id, chat_id)
    run = runner.get(chat_id)  # this process runs it: its state is fresher than the last save
    return run.state if run is not None else ChatState.of(chat)


async def chat_messages(
    uow: UnitOfWork, principal: Principal, conversation_id: str, chat_id: str
) -> list[MessageRecord]:
    await _chat(uow, principal, conversation_id, chat_id)
    rows = await uow.messages.for_chat(principal.workspace_id, conversation_id, chat_id)
    return [MessageRecord.of(row) for row in rows]


async def cancel_chat(
    uow: UnitOfWork, principal: Principal, runner: ChatRunner, conversation_id: str, chat_id: str
) -> ChatState:
    """Cancel a run of this process (it saves what it made), or mark the chat canceled for whoever holds it:
    a run elsewhere finds its chat no longer in progress and cannot move it on."""
    chat = await _chat(uow, principal, conversation_id, chat_id)
    principal.require_writer()
    canceled = await runner.cancel(chat.id)
    if canceled is not None:
        return canceled
    if chat.status in TERMINAL or not await uow.chats.cancel(principal.workspace_id, chat_id):
        raise ChatNotCancelable(f"chat {chat_id} has already ended")
    await uow.commit()
    await runner.cancel_elsewhere(chat.runner, chat_id)
    chat = await _chat(uow, principal, conversation_id, chat_id)
    return ChatState.of(chat)


async def _commit_and_run(uow: UnitOfWork, runner: ChatRunner, job: ChatJob, new_rows: list[Base] | None = None) -> Run:
    """The chat's rows are committed before its run starts: its first event may name it to anyone. The request's
    own transaction ends first, and ``new_rows`` go in after it with the group commit: a request that held its
    connection while it waited for the writer's could starve the pool the writer draws on."""
    await uow.commit()
    if new_rows:
        await runner.insert(new_rows)
    return runner.start(job)


async def _chat(uow: UnitOfWork, principal: Principal, conversation_id: str, chat_id: str) -> Chat:
    chat = await uow.chats.find(principal.workspace_id, conversation_id, chat_id)
    if chat is None:
        raise NotFound(f"chat {chat_id} not found in conversation {conversation_id}")
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


@dataclass(slots=True, kw_only=True)
class _History:
    """A section's latest messages past its summary, and the summary."""

    rows: list[HistoryEntry]
    summary: str = ""
    summarized_through: str | None = None
    full: bool = False

    def recall(self, rows: Sequence[IdentifiedMessage]) -> Recall:
        return Recall.of(rows, summary=self.summary, summarized_through=self.summarized_through, older_unread=self.full)


async def _with_history(
    uow: UnitOfWork, principal: Principal, conversation_id: str, config: BotConfig
) -> tuple[ConversationRecord, _History]:
    """The conversation and its current section's latest messages: a bot's context (read before any write, so
    a chat holds SQLite's write lock briefly), with the section's summary in the same two queries."""
    rounds = config.model.context_round or DEFAULT_ROUNDS
    found = await uow.conversations.with_history(
        principal.workspace_id, conversation_id, rounds * HISTORY_ROWS_PER_ROUND
    )
    if found is None:
        raise NotFound(f"conversation {conversation_id} not found")
    history = _History(
        rows=found.entries, summary=found.summary, summarized_through=found.summarized_through, full=found.full
    )
    return ConversationRecord.of(found.conversation), history


def _entered(chat: Chat, message: NewMessage) -> Message:
    return chat_message(
        chat,
        role=message.role,
        kind=message.kind,
        content=message.content,
        content_type=message.content_type,
        meta_data=message.meta_data,
    )
