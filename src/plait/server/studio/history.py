"""``/api/studio/agents/{id}/conversations`` and ``/api/studio/conversations/{id}/messages``: the playground's
history, the caller's earlier conversations with an agent and the messages of one, to read it and go on."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from plait.platform import conversations
from plait.server.deps import Uow
from plait.server.studio.auth import StudioCaller
from plait.server.studio.chat_stream import message_fields

router = APIRouter(prefix="/api/studio")
PageNum = Annotated[int, Query(ge=1)]
PageSize = Annotated[int, Query(ge=1, le=100)]
MESSAGES = 100  # the latest messages a conversation opens with: many turns, a small answer


@router.get("/agents/{agent_id}/conversations")
async def list_conversations(
    agent_id: str, uow: Uow, caller: StudioCaller, page_num: PageNum = 1, page_size: PageSize = 20
) -> dict[str, Any]:
    """Newest first, each named by its first question."""
    found, has_more = await conversations.started_conversations(
        uow, caller, agent_id, page_num=page_num, page_size=page_size
    )
    items = [{"id": c.id, "first_question": c.first_question, "created_at": c.created_at} for c in found]
    return {"items": items, "has_more": has_more}


@router.get("/conversations/{conversation_id}/messages")
async def list_messages(conversation_id: str, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    """The conversation's latest messages, oldest first; ``has_more`` when earlier ones were left out."""
    page = await conversations.list_messages(
        uow, caller, conversation_id, order="desc", chat_id=None, before_id=None, after_id=None, limit=MESSAGES
    )
    return {"items": [message_fields(message) for message in reversed(page.items)], "has_more": page.has_more}
