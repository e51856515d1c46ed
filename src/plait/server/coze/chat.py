"""Coze chat v3: start a chat (answered when done, or streamed as SSE), read it, list its messages, submit the
outputs of client-side tools, cancel it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from plait.platform import InvalidParams, chats
from plait.platform.chat_events import ChatEvent
from plait.platform.chat_runner import ChatRunner, Run
from plait.platform.views import chat_view, message_view
from plait.server.coze.conversation_models import EnterMessage
from plait.server.deps import Caller, Uow, require_scope
from plait.server.envelope import ok

router = APIRouter(dependencies=[require_scope("chat")])


def _runner(request: Request) -> ChatRunner:
    runner: ChatRunner = request.app.state.chats
    return runner


Runner = Annotated[ChatRunner, Depends(_runner)]


class ChatBody(BaseModel):
    """cozepy sends every field, unset ones as null."""

    bot_id: str
    user_id: str | None = None
    additional_messages: list[EnterMessage] | None = None
    stream: bool | None = None
    auto_save_history: bool | None = None
    custom_variables: dict[str, str] | None = None
    meta_data: dict[str, str] | None = None
    parameters: dict[str, Any] | None = None


class ToolOutput(BaseModel):
    tool_call_id: str
    output: str


class SubmitToolOutputsBody(BaseModel):
    tool_outputs: list[ToolOutput] = Field(min_length=1)
    stream: bool | None = None


class CancelBody(BaseModel):
    conversation_id: str
    chat_id: str


@router.post("/v3/chat", response_model=None)
async def create_chat(
    body: ChatBody, request: Request, uow: Uow, caller: Caller, runner: Runner, conversation_id: str | None = None
) -> dict[str, Any] | StreamingResponse:
    stream, auto_save = bool(body.stream), body.auto_save_history is not False
    if not stream and not auto_save:
        raise InvalidParams("auto_save_history=false needs stream=true: a saved-less chat is only seen streamed")
    job = await chats.start_chat(
        uow,
        caller,
        chats.ChatRequest(
            bot_id=body.bot_id,
            conversation_id=conversation_id or None,  # cozepy sends "" for "a new one"
            user_id=body.user_id,
            messages=[message.new() for message in body.additional_messages or []],
            custom_variables=body.custom_variables or {},
            meta_data=body.meta_data or {},
            auto_save_history=auto_save,
            defer=not stream,  # a streamed chat's id is out at its first event: it must be saved first
        ),
    )
    await uow.commit()
    return await _answer(request, runner, runner.start(job), stream=stream)


@router.get("/v3/chat/retrieve")
@router.post("/v3/chat/retrieve")  # cozepy POSTs; GET is what a reader expects
async def retrieve_chat(conversation_id: str, chat_id: str, uow: Uow, caller: Caller, runner: Runner) -> dict[str, Any]:
    chat = await chats.get_chat(uow, caller, conversation_id, chat_id)
    run = runner.get(chat_id)  # this process runs it: its state is fresher than the last save
    return ok(chat_view(run.chat if run is not None else chat))


@router.get("/v3/chat/message/list")
async def list_chat_messages(conversation_id: str, chat_id: str, uow: Uow, caller: Caller) -> dict[str, Any]:
    messages = await chats.chat_messages(uow, caller, conversation_id, chat_id)
    return ok([message_view(message) for message in messages])


@router.post("/v3/chat/submit_tool_outputs", response_model=None)
async def submit_tool_outputs(
    conversation_id: str,
    chat_id: str,
    body: SubmitToolOutputsBody,
    request: Request,
    uow: Uow,
    caller: Caller,
    runner: Runner,
) -> dict[str, Any] | StreamingResponse:
    outputs = {item.tool_call_id: item.output for item in body.tool_outputs}
    if len(outputs) != len(body.tool_outputs):
        raise InvalidParams("tool_outputs: one output per tool_call_id")
    job = await chats.resume_chat(uow, caller, conversation_id, chat_id, outputs)
    await uow.commit()
    return await _answer(request, runner, runner.start(job), stream=bool(body.stream))


@router.post("/v3/chat/cancel")
async def cancel_chat(body: CancelBody, uow: Uow, caller: Caller, runner: Runner) -> dict[str, Any]:
    chat = await chats.get_chat(uow, caller, body.conversation_id, body.chat_id)
    caller.require_writer()
    canceled = await runner.cancel(chat.id)
    if canceled is None:
        canceled = await chats.mark_canceled(uow, caller, body.conversation_id, body.chat_id)
    return ok(chat_view(canceled))


async def _answer(
    request: Request, runner: ChatRunner, run: Run, *, stream: bool
) -> dict[str, Any] | StreamingResponse:
    if stream:
        return StreamingResponse(
            _sse(runner, run), media_type="text/event-stream", headers={"cache-control": "no-cache"}
        )
    assert run.task is not None
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(run.task), request.app.state.settings.chat_wait_seconds)
    return ok(chat_view(run.chat))


async def _sse(runner: ChatRunner, run: Run) -> AsyncIterator[str]:
    """The run's events as Coze SSE; a client that leaves cancels the run (which saves what it made)."""
    try:
        async for event in run.log.follow():
            yield encode(event)
    finally:
        if not run.log.closed:
            runner.stop(run.chat.id)


def encode(event: ChatEvent) -> str:
    """``event:`` and ``data:`` lines only, one-line JSON: what cozepy's strict parser takes."""
    data = '"[DONE]"' if event.kind == "done" else json.dumps(event.data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event.kind}\ndata: {data}\n\n"
