"""Conversations, their sections and messages, as the Coze conversation and message APIs manage them.

A conversation always has a current section (``last_section_id``); clearing it starts a new one, so a bot's
context resets while the history stays readable. Every lookup is scoped to the caller's workspace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from plait.platform.access import Principal
from plait.platform.chat.records import MessageRecord
from plait.platform.chat_prompt import TOOL_OUTPUTS, parse_function_call, text_of
from plait.platform.errors import InvalidParams, NotFound
from plait.store import UnitOfWork, new_id
from plait.store.base import now
from plait.store.tables import Conversation, Message, Section

PART_TYPES = {"text": "text", "image": None, "file": None}  # part type -> the field it must carry (None: a file)
NAME_LENGTH = 100
TITLE_LENGTH = 80  # of a conversation's first question in a history list
# What a client may enter, by role, as Coze has it: a user asks questions; an assistant's entered turns are
# answers and the function calls and tool outputs of earlier turns (verbose, follow_up... are the bot's own).
ENTERED_TYPES = {"user": ("question",), "assistant": ("answer", "function_call", *TOOL_OUTPUTS)}


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationRecord:
    id: str
    workspace_id: str
    bot_id: str | None
    name: str
    meta_data: dict[str, str]
    last_section_id: str | None
    creator_id: str
    connector_id: str
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, row: Conversation) -> ConversationRecord:
        return cls(
            id=row.id,
            workspace_id=row.workspace_id,
            bot_id=row.bot_id,
            name=row.name,
            meta_data=dict(row.meta_data or {}),
            last_section_id=row.last_section_id,
            creator_id=row.creator_id or "",
            connector_id=row.connector_id or "",
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SectionRecord:
    id: str
    conversation_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationPage:
    items: list[ConversationRecord]
    has_more: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class StartedConversation:
    """A conversation as a history list shows it: when it started and the question it started with."""

    id: str
    first_question: str  # its text, cut at TITLE_LENGTH; "" when it has none
    created_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageWindow:
    """A cursor page as ``messages.list`` answers it: ``first_id``/``last_id`` are "" when empty."""

    items: list[MessageRecord]
    first_id: str
    last_id: str
    has_more: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class NewMessage:
    """A message as a client enters it; ``type`` "" means "the role's usual one" (question or answer)."""

    role: str
    content: str
    content_type: str
    meta_data: dict[str, str]
    type: str = ""

    @property
    def kind(self) -> str:
        return self.type or ("question" if self.role == "user" else "answer")

    def __post_init__(self) -> None:
        """Refused at once (4000): a message later chats cannot read must never be stored."""
        allowed = ENTERED_TYPES.get(self.role, ())
        if self.kind not in allowed:
            raise InvalidParams(f"type: a {self.role} message may not be {self.kind!r}; it may be {', '.join(allowed)}")
        check_tool_content(self.kind, self.content_type, self.content)


def check_tool_content(kind: str, content_type: str, content: str) -> None:
    """Function calls and tool outputs are text, and a function call's text is the JSON object the history
    builder reads back (``{"id", "name", "arguments"}``, as chats store their own calls)."""
    if kind not in ("function_call", *TOOL_OUTPUTS):
        return
    if content_type != "text":
        raise InvalidParams(f"content_type: a {kind} message is text, not {content_type}")
    if kind == "function_call":
        try:
            parse_function_call(content)
        except ValueError as exc:
            raise InvalidParams(
                f'content: a function_call is a JSON object {{"id", "name", "arguments"}}: {exc}'
            ) from None


def check_content(content_type: str, content: str, field: str = "content") -> None:
    """``object_string`` content must be the JSON array of parts the bot runtime reads; reject it early."""
    if content_type != "object_string":
        return
    try:
        parts = json.loads(content)
    except json.JSONDecodeError as exc:
        raise InvalidParams(f"{field}: object_string content is not JSON: {exc.msg}") from None
    if not isinstance(parts, list) or not parts:
        raise InvalidParams(f"{field}: object_string content must be a non-empty JSON array of parts")
    for index, part in enumerate(parts):
        where = f"{field}[{index}]"
        if not isinstance(part, dict) or part.get("type") not in PART_TYPES:
            raise InvalidParams(f"{where}: each part is an object with type text, image or file")
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise InvalidParams(f"{where}: a text part needs a string 'text'")
        if part["type"] != "text" and not (part.get("file_id") or part.get("file_url")):
            raise InvalidParams(f"{where}: an {part['type']} part needs file_id or file_url")


async def get_conversation(uow: UnitOfWork, principal: Principal, conversation_id: str) -> ConversationRecord:
    return ConversationRecord.of(await _conversation(uow, principal, conversation_id))


async def _conversation(uow: UnitOfWork, principal: Principal, conversation_id: str) -> Conversation:
    conversation = await uow.conversations.get(principal.workspace_id, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


async def _check_bot(uow: UnitOfWork, principal: Principal, bot_id: str) -> None:
    if await uow.bots.get(principal.workspace_id, bot_id) is None:
        raise NotFound(f"bot {bot_id} not found")


async def _add_message(
    uow: UnitOfWork, conversation: Conversation | ConversationRecord, message: NewMessage
) -> Message:
    check_content(message.content_type, message.content)
    row = Message(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        section_id=conversation.last_section_id,
        bot_id=conversation.bot_id,
        role=message.role,
        type=message.kind,
        content=message.content,
        content_type=message.content_type,
        meta_data=message.meta_data,
    )
    return await uow.messages.add(row)


async def create_conversation(
    uow: UnitOfWork,
    principal: Principal,
    *,
    bot_id: str | None,
    name: str | None,
    meta_data: dict[str, str],
    connector_id: str | None,
    messages: list[NewMessage],
) -> ConversationRecord:
    """A conversation with its first section; ``name`` defaults to the first text message, as Coze does."""
    principal.require_writer()
    if bot_id is not None:
        await _check_bot(uow, principal, bot_id)
    for index, message in enumerate(messages):
        check_content(message.content_type, message.content, f"messages[{index}].content")
    first_text = next((m.content for m in messages if m.content_type == "text"), "")
    conversation = await open_conversation(
        uow,
        principal,
        bot_id=bot_id,
        name=(name if name is not None else first_text),
        meta_data=meta_data,
        connector_id=connector_id,
    )
    for message in messages:
        await _add_message(uow, conversation, message)
    return conversation


async def open_conversation(
    uow: UnitOfWork,
    principal: Principal,
    *,
    bot_id: str | None,
    name: str = "",
    meta_data: dict[str, str] | None = None,
    connector_id: str | None = None,
) -> ConversationRecord:
    """Insert a conversation and its first section, for a caller that has checked the bot (a chat that opens
    one): two plain INSERTs, none of the ORM's flush."""
    conversation, section = new_conversation(
        principal, bot_id=bot_id, name=name, meta_data=meta_data, connector_id=connector_id
    )
    await uow.conversations.insert_new([conversation])
    await uow.sections.insert_new([section])
    return ConversationRecord.of(conversation)


def new_conversation(
    principal: Principal,
    *,
    bot_id: str | None,
    name: str = "",
    meta_data: dict[str, str] | None = None,
    connector_id: str | None = None,
) -> tuple[Conversation, Section]:
    """A conversation and its first section, made whole (ids and times set) but not inserted: a chat that opens
    one hands them to the group commit with its own rows."""
    stamp = now()
    section_id = new_id()  # known up front: the conversation is inserted pointing at its first section
    conversation = Conversation(
        id=new_id(),
        workspace_id=principal.workspace_id,
        bot_id=bot_id,
        creator_id=principal.user_id,
        connector_id=connector_id or "1024",
        name=name[:NAME_LENGTH],
        meta_data=meta_data or {},
        last_section_id=section_id,
        created_at=stamp,
        updated_at=stamp,
    )
    section = Section(id=section_id, workspace_id=principal.workspace_id, conversation_id=conversation.id)
    section.created_at = stamp
    return conversation, section


async def list_conversations(
    uow: UnitOfWork, principal: Principal, bot_id: str, *, page_num: int, page_size: int
) -> ConversationPage:
    await _check_bot(uow, principal, bot_id)
    page = await uow.conversations.for_bot(principal.workspace_id, bot_id, page_num=page_num, page_size=page_size)
    return ConversationPage(items=[ConversationRecord.of(row) for row in page.items], has_more=page.has_more)


async def started_conversations(
    uow: UnitOfWork, principal: Principal, bot_id: str, *, page_num: int, page_size: int
) -> tuple[list[StartedConversation], bool]:
    """The conversations with the bot that the caller started, newest first, each with its first question (what
    the studio's history lists); and whether there are more."""
    await _check_bot(uow, principal, bot_id)
    page = await uow.conversations.for_bot(
        principal.workspace_id, bot_id, creator_id=principal.user_id, page_num=page_num, page_size=page_size
    )
    firsts = await uow.messages.first_questions(principal.workspace_id, [row.id for row in page.items])
    started = []
    for row in page.items:
        first = firsts.get(row.id)
        text = " ".join(text_of(first.content_type, first.content).split()) if first is not None else ""
        started.append(StartedConversation(id=row.id, first_question=text[:TITLE_LENGTH], created_at=row.created_at))
    return started, page.has_more


async def rename_conversation(
    uow: UnitOfWork, principal: Principal, conversation_id: str, name: str
) -> ConversationRecord:
    principal.require_writer()
    if len(name) > NAME_LENGTH:
        raise InvalidParams(f"name: at most {NAME_LENGTH} characters")
    await _conversation(uow, principal, conversation_id)
    conversation = await uow.conversations.update(principal.workspace_id, conversation_id, name=name)
    assert conversation is not None  # read above in this transaction
    return ConversationRecord.of(conversation)


async def delete_conversation(uow: UnitOfWork, principal: Principal, conversation_id: str) -> None:
    """Delete it with its sections, chats and messages (the database cascades)."""
    principal.require_writer()
    if not await uow.conversations.delete(principal.workspace_id, conversation_id):
        raise NotFound(f"conversation {conversation_id} not found")


async def clear_conversation(uow: UnitOfWork, principal: Principal, conversation_id: str) -> SectionRecord:
    """Start a new section: later chats no longer see earlier messages as context."""
    principal.require_writer()
    conversation = await _conversation(uow, principal, conversation_id)
    section = await uow.sections.add(Section(workspace_id=conversation.workspace_id, conversation_id=conversation.id))
    await uow.conversations.update(conversation.workspace_id, conversation.id, last_section_id=section.id)
    return SectionRecord(id=section.id, conversation_id=section.conversation_id)


async def create_message(
    uow: UnitOfWork, principal: Principal, conversation_id: str, message: NewMessage
) -> MessageRecord:
    principal.require_writer()
    conversation = await _conversation(uow, principal, conversation_id)
    return MessageRecord.of(await _add_message(uow, conversation, message))


async def list_messages(
    uow: UnitOfWork,
    principal: Principal,
    conversation_id: str,
    *,
    order: Literal["asc", "desc"],
    chat_id: str | None,
    before_id: str | None,
    after_id: str | None,
    limit: int,
) -> MessageWindow:
    await _conversation(uow, principal, conversation_id)
    page = await uow.messages.window(
        principal.workspace_id,
        conversation_id,
        order=order,
        chat_id=chat_id,
        before_id=before_id,
        after_id=after_id,
        limit=limit,
    )
    items = [MessageRecord.of(row) for row in page.items]
    return MessageWindow(items=items, first_id=page.first_id, last_id=page.last_id, has_more=page.has_more)


async def get_message(uow: UnitOfWork, principal: Principal, conversation_id: str, message_id: str) -> MessageRecord:
    return MessageRecord.of(await _message(uow, principal, conversation_id, message_id))


async def _message(uow: UnitOfWork, principal: Principal, conversation_id: str, message_id: str) -> Message:
    await _conversation(uow, principal, conversation_id)
    message = await uow.messages.get(principal.workspace_id, message_id)
    if message is None or message.conversation_id != conversation_id:
        raise NotFound(f"message {message_id} not found in conversation {conversation_id}")
    return message


async def update_message(
    uow: UnitOfWork, principal: Principal, conversation_id: str, message_id: str, fields: dict[str, Any]
) -> MessageRecord:
    """Change content, content type or meta data; the result is checked as a whole (object_string parts)."""
    principal.require_writer()
    message = await _message(uow, principal, conversation_id, message_id)
    content_type, content = fields.get("content_type", message.content_type), fields.get("content", message.content)
    check_content(content_type, content)
    check_tool_content(message.type, content_type, content)
    updated = await uow.messages.update(principal.workspace_id, message.id, **fields)
    assert updated is not None  # read above in this transaction
    return MessageRecord.of(updated)


async def delete_message(uow: UnitOfWork, principal: Principal, conversation_id: str, message_id: str) -> MessageRecord:
    principal.require_writer()
    message = MessageRecord.of(await _message(uow, principal, conversation_id, message_id))
    await uow.messages.delete(principal.workspace_id, message.id)
    return message


async def set_feedback(
    uow: UnitOfWork,
    principal: Principal,
    conversation_id: str,
    message_id: str,
    feedback: dict[str, Any] | None,
) -> None:
    """Record (or with None, withdraw) the caller's like/unlike of a message."""
    principal.require_writer()
    message = await _message(uow, principal, conversation_id, message_id)
    if feedback is not None:
        feedback = {**feedback, "user_id": principal.user_id}
    await uow.messages.update(principal.workspace_id, message.id, feedback=feedback)
