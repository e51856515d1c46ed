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
    run = await service.start_chat(uow, caller, services.chats, request)
    return StreamingResponse(
        _stream(services.chats, run), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )


@router.post("/chats/cancel")
async def cancel(body: CancelTurn, uow: Uow, caller: StudioCaller, services: Services) -> dict[str, Any]:
    return chat_fields(await service.cancel_chat(uow, caller, services.chats, body.conversation_id, body.chat_id))


async def _stream(runner: ChatRunner, run: Run) -> AsyncIterator[bytes]:
    """A page that goes away (closed tab, aborted fetch) cancels its run, which saves what it made."""
    try:
        async for batch in run.log.batches():
            yield b"".join(encode(event) for event in batch)
    finally:
        if not run.log.closed:
            runner.stop(run.chat.id)
