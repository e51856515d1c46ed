"""A chatflow answers a conversation's message (Coze's ``/v1/workflows/chat``): the user's message and the
answer are saved in the conversation like a bot chat's, and the run is told as the chat events of ``/v3/chat``
(the faces encode them with the chat encoders). The message is the run's ``$sys.query``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from plait.platform.access import Principal
from plait.platform.chat.events import (
    ChatCompleted,
    ChatCreated,
    ChatFailed,
    ChatInProgress,
    EventLog,
    MessageCompleted,
    MessageDelta,
)
from plait.platform.chat.jobs import chat_message, insert_rows, new_chat
from plait.platform.chat.records import ChatError, ChatState, ChatUsage, MessageRecord
from plait.platform.chat.runner import VERBOSE_FINISH
from plait.platform.conversations import NewMessage, check_content, get_conversation, open_conversation
from plait.platform.errors import InvalidParams
from plait.platform.unit_of_work import UnitOfWork, now
from plait.platform.workflows.catalog import get_workflow
from plait.platform.workflows.events import StreamError, StreamInterrupt, StreamMessage
from plait.platform.workflows.runner import Execution, WorkflowRunner
from plait.platform.workflows.runs import RunRequest, start_run
from plait.store import Database
from plait.store.tables import Chat

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatflowRequest:
    workflow_id: str
    messages: list[NewMessage]
    parameters: dict[str, Any] = field(default_factory=dict)
    conversation_id: str | None = None
    bot_id: str | None = None
    user_id: str = ""


async def start_chatflow(
    uow: UnitOfWork, principal: Principal, runner: WorkflowRunner, database: Database, request: ChatflowRequest
) -> EventLog:
    """Save the chat and its entered messages, start the run, and give the log of chat events it makes."""
    workflow = await get_workflow(uow, principal, request.workflow_id)
    if workflow.mode != "chatflow":
        raise InvalidParams(f"workflow_id: workflow {workflow.id} is a workflow, not a chatflow (kind: chatflow)")
    questions = [m for m in request.messages if m.role == "user" and m.content_type == "text" and m.content.strip()]
    if not questions:
        raise InvalidParams("additional_messages: a user text message is needed, the chatflow's question")
    for index, message in enumerate(request.messages):
        check_content(message.content_type, message.content, f"additional_messages[{index}].content")
    if request.conversation_id:
        conversation = await get_conversation(uow, principal, request.conversation_id)
    else:
        conversation = await open_conversation(uow, principal, bot_id=request.bot_id, name=questions[-1].content)
    chat = new_chat(conversation, request.bot_id or "", request.user_id or principal.user_id, {}, runner.instance)
    entered = [
        chat_message(chat, role=m.role, kind=m.type or "question", content=m.content, content_type=m.content_type)
        for m in request.messages
    ]
    await insert_rows(uow, [chat, *entered])
    system = {"query": questions[-1].content, "conversation_id": conversation.id, "user_id": chat.user_id}
    run = RunRequest(
        workflow_id=workflow.id,
        parameters=request.parameters,
        run_mode=1,
        bot_id=request.bot_id,
        connector_uid=chat.user_id or "",
        system=system,
        conversation_id=conversation.id,
    )
    execution = await start_run(uow, principal, runner, run)
    events = EventLog()
    runner.spawn(_tell(database, chat, execution, events))
    return events


async def _tell(database: Database, chat: Chat, execution: Execution, events: EventLog) -> None:
    """Follow the run: its messages become the answer's deltas; its end, the chat's end, saved before told."""
    state = ChatState.of(chat)
    events.append(ChatCreated(replace(state, status="created")))
    events.append(ChatInProgress(state))
    answer = chat_message(chat, role="assistant", kind="answer", content="")
    record = MessageRecord.of(answer)
    parts: list[str] = []
    error: ChatError | None = None
    try:
        async for batch in execution.log.batches():
            for event in batch:
                if isinstance(event, StreamMessage):
                    parts.append(event.content)
                    events.append(MessageDelta(record, event.content, ""))
                elif isinstance(event, StreamInterrupt):  # a chatflow's question is its answer for this turn
                    parts.append(event.data)
                elif isinstance(event, StreamError):
                    error = ChatError(code=event.code, msg=event.message)
        answer.content = "".join(parts)
        await _save(database, chat, answer, execution, error)
        if error is None:
            events.append(MessageCompleted(MessageRecord.of(answer)))
            verbose = chat_message(chat, role="assistant", kind="verbose", content=VERBOSE_FINISH)
            events.append(MessageCompleted(MessageRecord.of(verbose)))
            events.append(ChatCompleted(ChatState.of(chat)))
        else:
            events.append(ChatFailed(ChatState.of(chat)))
    except Exception:
        log.exception("chatflow chat %s could not be saved", chat.id)
        chat.status, chat.last_error = "failed", {"code": 5000, "msg": f"internal error in chat {chat.id}"}
        events.append(ChatFailed(ChatState.of(chat)))
    finally:
        events.close()


async def _save(database: Database, chat: Chat, answer: Any, execution: Execution, error: ChatError | None) -> None:
    usage = execution.usage
    stamp = now()
    if error is None:
        chat.status, chat.completed_at = "completed", stamp
    else:
        chat.status, chat.failed_at, chat.last_error = "failed", stamp, error.to_json()
    chat.usage = ChatUsage(usage.token_count, usage.output_count, usage.input_count).to_json()
    async with database.unit_of_work() as uow:
        if error is None:
            await insert_rows(uow, [answer])
        await uow.chats.settle(
            chat.workspace_id,
            chat.id,
            status=chat.status,
            usage=chat.usage,
            completed_at=chat.completed_at,
            failed_at=chat.failed_at,
            last_error=chat.last_error,
        )
