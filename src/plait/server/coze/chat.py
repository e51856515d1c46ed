"""Coze chat v3: start a chat (answered when done, or streamed as SSE), read it, list its messages, submit the
outputs of client-side tools, cancel it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from plait.platform import InvalidParams
from plait.platform.chat import service
from plait.platform.chat.runner import ChatRunner, Run
from plait.server.coze.chat_events import SseEncoder, chat_view, message_view
from plait.server.coze.conversation_schemas import EnterMessage
from plait.server.deps import Caller, Services, Uow, require_scope
from plait.server.envelope import ok, ok_response

router = APIRouter(dependencies=[require_scope("chat")])


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
    body: ChatBody, uow: Uow, caller: Caller, services: Services, conversation_id: str | None = None
) -> StreamingResponse | Response:  # the union documents the SSE answer (api_schema)
    stream, auto_save = bool(body.stream), body.auto_save_history is not False
    if not stream and not auto_save:
        raise InvalidParams("auto_save_history=false needs stream=true: a saved-less chat is only seen streamed")
    request = service.ChatRequest(
        bot_id=body.bot_id,
        conversation_id=conversation_id or None,  # cozepy sends "" for "a new one"
        user_id=body.user_id,
        messages=[message.new() for message in body.additional_messages or []],
        custom_variables=body.custom_variables or {},
        meta_data=body.meta_data or {},
        auto_save_history=auto_save,
        defer=not stream,  # a streamed chat's id is out at its first event: it must be saved first
    )
    run = await service.start_chat(uow, caller, services.chats, request)
    return await _answer(services.chats, run, stream=stream, wait=services.settings.chat_wait_seconds)


@router.get("/v3/chat/retrieve")
@router.post("/v3/chat/retrieve")  # cozepy POSTs; GET is what a reader expects
async def retrieve_chat(
    conversation_id: str, chat_id: str, uow: Uow, caller: Caller, services: Services
) -> dict[str, Any]:
    return ok(chat_view(await service.get_chat(uow, caller, services.chats, conversation_id, chat_id)))


@router.get("/v3/chat/message/list")
async def list_chat_messages(conversation_id: str, chat_id: str, uow: Uow, caller: Caller) -> dict[str, Any]:
    messages = await service.chat_messages(uow, caller, conversation_id, chat_id)
    return ok([message_view(message) for message in messages])


@router.post("/v3/chat/submit_tool_outputs", response_model=None)
async def submit_tool_outputs(
    conversation_id: str, chat_id: str, body: SubmitToolOutputsBody, uow: Uow, caller: Caller, services: Services
) -> StreamingResponse | Response:  # the union documents the SSE answer (api_schema)
    outputs = {item.tool_call_id: item.output for item in body.tool_outputs}
    if len(outputs) != len(body.tool_outputs):
        raise InvalidParams("tool_outputs: one output per tool_call_id")
    run = await service.resume_chat(uow, caller, services.chats, conversation_id, chat_id, outputs)
    return await _answer(services.chats, run, stream=bool(body.stream), wait=services.settings.chat_wait_seconds)


@router.post("/v3/chat/cancel")
async def cancel_chat(body: CancelBody, uow: Uow, caller: Caller, services: Services) -> dict[str, Any]:
    return ok(chat_view(await service.cancel_chat(uow, caller, services.chats, body.conversation_id, body.chat_id)))


async def _answer(runner: ChatRunner, run: Run, *, stream: bool, wait: float) -> Response:
    if stream:
        return StreamingResponse(
            _sse(runner, run), media_type="text/event-stream", headers={"cache-control": "no-cache"}
        )
    assert run.task is not None
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(run.task), wait)
    return ok_response(chat_view(run.state))


async def _sse(runner: ChatRunner, run: Run) -> AsyncIterator[bytes]:
    """The run's events as Coze SSE; a client that leaves cancels the run (which saves what it made)."""
    encoder = SseEncoder()
    try:
        async for batch in run.log.batches():
            yield b"".join(encoder.encode(event) for event in batch)
    finally:
        if not run.log.closed:
            runner.stop(run.chat.id)
