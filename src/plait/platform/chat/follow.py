"""Following a chat that is already running (or ran), from any API process: the events of a run of this
process come from its log; with a bus (Redis) those of a run elsewhere come from the bus; a chat that has ended
and whose events are gone is told by its saved messages and final state."""

from __future__ import annotations

from collections.abc import AsyncIterator

from plait.platform.access import Principal
from plait.platform.chat.events import (
    ChatCompleted,
    ChatFailed,
    ChatRequiresAction,
    MessageCompleted,
    RunEnded,
    RunEvent,
)
from plait.platform.chat.records import ChatState, MessageRecord
from plait.platform.chat.runner import ChatRunner
from plait.platform.errors import InvalidParams, NotFound
from plait.store import Database, UnitOfWork

_FINAL: dict[str, type[ChatCompleted | ChatFailed | ChatRequiresAction]] = {
    "completed": ChatCompleted,
    "failed": ChatFailed,
    "requires_action": ChatRequiresAction,
}


async def follow_chat(
    uow: UnitOfWork, principal: Principal, runner: ChatRunner, database: Database, conversation_id: str, chat_id: str
) -> AsyncIterator[list[RunEvent]]:
    """The chat's events in batches, ending with `RunEnded`. Checked before the first event (a wrong id is a
    4xx, not a broken stream); a chat running in another process with no bus to reach it is refused."""
    chat = await uow.chats.find(principal.workspace_id, conversation_id, chat_id)
    if chat is None:
        raise NotFound(f"chat {chat_id} not found in conversation {conversation_id}")
    run = runner.get(chat_id)
    if run is not None:
        return run.log.batches()
    if chat.status == "in_progress" and runner.bus is None:
        raise InvalidParams(
            f"chat {chat_id} runs in another server process: poll /v3/chat/retrieve, or configure Redis "
            "(PLAIT_REDIS_URL) so that any process can stream any chat"
        )
    return _relayed(principal, runner, database, conversation_id, chat_id)


async def _relayed(
    principal: Principal, runner: ChatRunner, database: Database, conversation_id: str, chat_id: str
) -> AsyncIterator[list[RunEvent]]:
    async def running() -> bool:
        async with database.unit_of_work() as uow:
            chat = await uow.chats.find(principal.workspace_id, conversation_id, chat_id)
        return chat is not None and chat.status == "in_progress"

    relayed = False
    if runner.bus is not None:
        async for batch in runner.bus.follow(chat_id, running):
            yield batch
            if isinstance(batch[-1], RunEnded):
                return
            relayed = True
    yield await _ended(principal, database, conversation_id, chat_id, messages=not relayed)


async def _ended(
    principal: Principal, database: Database, conversation_id: str, chat_id: str, *, messages: bool
) -> list[RunEvent]:
    """What is left of an ended run (its process may have died midway): its answer's messages unless they were
    relayed, its final state, the end."""
    async with database.unit_of_work() as uow:
        chat = await uow.chats.find(principal.workspace_id, conversation_id, chat_id)
        rows = await uow.messages.for_chat(principal.workspace_id, conversation_id, chat_id) if messages else []
    events: list[RunEvent] = [MessageCompleted(MessageRecord.of(row)) for row in rows if row.role == "assistant"]
    final = _FINAL.get(chat.status) if chat is not None else None
    if chat is not None and final is not None:
        events.append(final(ChatState.of(chat)))
    return [*events, RunEnded()]
