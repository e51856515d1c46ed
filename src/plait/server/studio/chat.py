"""``/api/studio/agents/{id}/chat`` and ``/api/studio/chats/cancel``: the playground's turns, through the same
chat use cases as ``/v3/chat``, with the draft or the published version, streamed as `chat_stream` SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from plait.platform.chat import service
from plait.platform.chat.runner import ChatRunner, Run
from plait.platform.conversations import NewMessage
from plait.server.deps import Services, Uow
from plait.server.studio.auth import StudioCaller
from plait.server.studio.chat_stream import chat_fields, encode

router = APIRouter(prefix="/api/studio")


class ChatTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=100_000)
    conversation_id: str | None = None  # None: a new conversation
    version: str = Field(default="draft", pattern="^(draft|published)$")
    variables: dict[str, str] = Field(default_factory=dict)


class ToolOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool_call_id: str = Field(min_length=1)
    output: str = Field(max_length=100_000)  # an approval's: {"approved": true} runs the call, anything else refuses


class ToolOutputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str
    chat_id: str
    tool_outputs: list[ToolOutput] = Field(min_length=1, max_length=64)


class CancelTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str
    chat_id: str


@router.post("/agents/{agent_id}/chat")
async def chat(agent_id: str, body: ChatTurn, uow: Uow, caller: StudioCaller, services: Services) -> StreamingResponse:
    request = service.ChatRequest(
        bot_id=agent_id,
        conversation_id=body.conversation_id or None,
        user_id=None,
        messages=[NewMessage(role="user", content=body.message, content_type="text", meta_data={})],
        custom_variables=body.variables,
        draft=body.version == "draft",
    )
    return _streamed(services.chats, await service.start_chat(uow, caller, services.chats, request))


@router.post("/chats/submit_tool_outputs")
async def submit_tool_outputs(
    body: ToolOutputs, uow: Uow, caller: StudioCaller, services: Services
) -> StreamingResponse:
    """Answer a turn paused as requires_action (client tools' outputs, approvals' decisions); the turn goes on,
    streamed like a new one."""
    outputs = {item.tool_call_id: item.output for item in body.tool_outputs}
    run = await service.resume_chat(uow, caller, services.chats, body.conversation_id, body.chat_id, outputs)
    return _streamed(services.chats, run)


@router.post("/chats/cancel")
async def cancel(body: CancelTurn, uow: Uow, caller: StudioCaller, services: Services) -> dict[str, Any]:
    return chat_fields(await service.cancel_chat(uow, caller, services.chats, body.conversation_id, body.chat_id))


def _streamed(runner: ChatRunner, run: Run) -> StreamingResponse:
    headers = {"cache-control": "no-cache"}
    return StreamingResponse(_stream(runner, run), media_type="text/event-stream", headers=headers)


async def _stream(runner: ChatRunner, run: Run) -> AsyncIterator[bytes]:
    """A page that goes away (closed tab, aborted fetch) cancels its run, which saves what it made."""
    try:
        async for batch in run.log.batches():
            yield b"".join(encode(event) for event in batch)
    finally:
        if not run.log.closed:
            runner.stop(run.chat.id)
