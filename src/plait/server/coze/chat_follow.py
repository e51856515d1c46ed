"""``GET /v3/chat/stream``, Plait's own: follow a chat already started, as Coze SSE, from any API process (the
one running it, or with Redis any other). Leaving does not cancel the run: its starter may still follow it."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from plait.platform.chat.events import RunEvent
from plait.platform.chat.follow import follow_chat
from plait.server.coze.chat_events import SseEncoder
from plait.server.deps import Caller, Services, Uow, require_scope

router = APIRouter(dependencies=[require_scope("chat")])


@router.get("/v3/chat/stream")
async def stream_chat(
    conversation_id: str, chat_id: str, uow: Uow, caller: Caller, services: Services
) -> StreamingResponse:
    batches = await follow_chat(uow, caller, services.chats, services.database, conversation_id, chat_id)
    return StreamingResponse(_sse(batches), media_type="text/event-stream", headers={"cache-control": "no-cache"})


async def _sse(batches: AsyncIterator[list[RunEvent]]) -> AsyncIterator[bytes]:
    encoder = SseEncoder()
    async for batch in batches:
        yield b"".join(encoder.encode(event) for event in batch)
