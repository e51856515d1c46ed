"""A workspace's published bots as tools: one per bot, named so any model API accepts the name, taking one
message and answering with the bot's reply. Transport-free, so MCP over HTTP and over stdio serve the same."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plait.platform.access import Principal
from plait.platform.bots import MAX_PAGE_SIZE, BotRecord, list_bots
from plait.platform.chat.outcome import finished
from plait.platform.chat.runner import ChatRunner, Run
from plait.platform.chat.service import ChatRequest, start_chat
from plait.platform.conversations import NewMessage
from plait.platform.errors import InvalidParams, NotFound
from plait.platform.unit_of_work import UnitOfWork
from plait.tools.tool_names import safe_name, unique_names

MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"message": {"type": "string", "description": "What to ask the bot, as a user would."}},
    "required": ["message"],
    "additionalProperties": False,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BotTool:
    name: str
    title: str  # the bot's own name
    description: str
    bot_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BotReply:
    """``text`` is the bot's answer when ``ok``, else why there is none (a clean reason, never a traceback)."""

    text: str
    ok: bool
    chat_id: str
    conversation_id: str


async def bot_tools(uow: UnitOfWork, principal: Principal) -> list[BotTool]:
    """The published bots, oldest first, so a new bot with a taken name gets the suffix, not an old one."""
    principal.require_scope("chat")
    records: list[BotRecord] = []
    page_num = 1
    while True:
        page = await list_bots(
            uow,
            principal,
            principal.workspace_id,
            status="published_online",
            page_num=page_num,
            page_size=MAX_PAGE_SIZE,
        )
        records.extend(page.bots)
        if not page.bots or len(records) >= page.total:
            break
        page_num += 1
    records.sort(key=lambda record: (record.bot.created_at, record.bot.id))
    names = unique_names(safe_name(record.name, f"bot_{record.bot.id}") for record in records)
    return [
        BotTool(name=name, title=record.name, description=_description(record), bot_id=record.bot.id)
        for name, record in zip(names, records, strict=True)
    ]


def _description(record: BotRecord) -> str:
    about = record.config.description.strip()
    return f"Ask the bot {record.name!r}. {about}" if about else f"Ask the bot {record.name!r}."


def message_of(arguments: Mapping[str, Any] | None) -> str:
    """The one argument a bot tool takes, checked against ``MESSAGE_SCHEMA`` with errors that name the field."""
    if arguments is None or "message" not in arguments:
        raise InvalidParams("message: required: the text to ask the bot")
    if extra := sorted(set(arguments) - {"message"}):
        raise InvalidParams(f"unexpected arguments: {', '.join(extra)}; a bot tool takes only 'message'")
    message = arguments["message"]
    if not isinstance(message, str):
        raise InvalidParams(f"message: expected a string, got {type(message).__name__}")
    if not message.strip():
        raise InvalidParams("message: must not be empty")
    return message


async def start_tool_chat(
    uow: UnitOfWork, principal: Principal, runner: ChatRunner, name: str, arguments: Mapping[str, Any] | None
) -> Run:
    """A chat with the bot served as ``name``, in a conversation of its own (a tool call carries no history).
    Commits ``uow``; await ``tool_reply`` after closing it, so no connection is held while the bot thinks."""
    message = message_of(arguments)
    tools = await bot_tools(uow, principal)
    tool = next((tool for tool in tools if tool.name == name), None)
    if tool is None:
        known = ", ".join(tool.name for tool in tools) or "none: publish a bot first"
        raise NotFound(f"no published bot is served as tool {name!r}; tools: {known}")
    entered = NewMessage(role="user", content=message, content_type="text", meta_data={})
    request = ChatRequest(bot_id=tool.bot_id, conversation_id=None, user_id=None, messages=[entered], defer=True)
    return await start_chat(uow, principal, runner, request)


async def tool_reply(run: Run) -> BotReply:
    """Wait for the chat's end and say what came of it."""
    outcome = await finished(run)
    state = outcome.state
    reply = BotReply(text=outcome.answer, ok=True, chat_id=state.id, conversation_id=state.conversation_id)
    if outcome.failure is not None:
        error = outcome.failure.last_error
        return _failed(reply, error.msg if error is not None else "the bot failed")
    if state.pending is not None:
        names = ", ".join(sorted({call.name for call in state.pending.calls}))
        return _failed(
            reply,
            f"the bot called client tools ({names}) that only a Coze or OpenAI API client can answer; "
            f"chat {state.id} waits for their outputs",
        )
    if state.status != "completed":
        return _failed(reply, f"the chat ended {state.status} without an answer")
    return reply


def _failed(reply: BotReply, reason: str) -> BotReply:
    return BotReply(text=reason, ok=False, chat_id=reply.chat_id, conversation_id=reply.conversation_id)
