"""Coze conversation and message endpoints: conversations with their sections, messages, feedback."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from plait.platform import conversations
from plait.server.coze.chat_events import message_view
from plait.server.coze.conversation_schemas import (
    CreateConversationRequest,
    CreateMessageRequest,
    FeedbackRequest,
    ListMessagesRequest,
    UpdateConversationRequest,
    UpdateMessageRequest,
    render_conversation,
    render_section,
)
from plait.server.deps import Caller, Uow, require_scope
from plait.server.envelope import ok

router = APIRouter(dependencies=[require_scope("chat")])
PageNum = Annotated[int, Query(ge=1)]
PageSize = Annotated[int, Query(ge=1, le=100)]


@router.post("/v1/conversation/create")
async def create_conversation(body: CreateConversationRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    conversation = await conversations.create_conversation(
        uow,
        caller,
        bot_id=body.bot_id,
        name=body.name,
        meta_data=body.meta_data or {},
        connector_id=body.connector_id,
        messages=[message.new() for message in body.messages],
    )
    return ok(render_conversation(conversation))


@router.get("/v1/conversation/retrieve")
async def retrieve_conversation(conversation_id: str, uow: Uow, caller: Caller) -> dict[str, Any]:
    return ok(render_conversation(await conversations.get_conversation(uow, caller, conversation_id)))


@router.get("/v1/conversations")
async def list_conversations(
    bot_id: str, uow: Uow, caller: Caller, page_num: PageNum = 1, page_size: PageSize = 50
) -> dict[str, Any]:
    page = await conversations.list_conversations(uow, caller, bot_id, page_num=page_num, page_size=page_size)
    return ok({"has_more": page.has_more, "conversations": [render_conversation(c) for c in page.items]})


@router.put("/v1/conversations/{conversation_id}")
async def update_conversation(
    conversation_id: str, body: UpdateConversationRequest, uow: Uow, caller: Caller
) -> dict[str, Any]:
    conversation = await conversations.rename_conversation(uow, caller, conversation_id, body.name)
    return ok(render_conversation(conversation))


@router.delete("/v1/conversations/{conversation_id}")
async def delete_conversation(conversation_id: str, uow: Uow, caller: Caller) -> dict[str, Any]:
    await conversations.delete_conversation(uow, caller, conversation_id)
    return ok(None)


@router.post("/v1/conversations/{conversation_id}/clear")
async def clear_conversation(conversation_id: str, uow: Uow, caller: Caller) -> dict[str, Any]:
    return ok(render_section(await conversations.clear_conversation(uow, caller, conversation_id)))


@router.post("/v1/conversation/message/create")
async def create_message(conversation_id: str, body: CreateMessageRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    return ok(message_view(await conversations.create_message(uow, caller, conversation_id, body.new())))


@router.post("/v1/conversation/message/list")
async def list_messages(conversation_id: str, body: ListMessagesRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    """A cursor page: cozepy reads first_id/last_id/has_more from the top level, the messages from ``data``."""
    page = await conversations.list_messages(
        uow,
        caller,
        conversation_id,
        order=body.order or "desc",
        chat_id=body.chat_id,
        before_id=body.before_id,
        after_id=body.after_id,
        limit=body.limit or 50,
    )
    return {
        **ok([message_view(message) for message in page.items]),
        "first_id": page.first_id,
        "last_id": page.last_id,
        "has_more": page.has_more,
    }


@router.get("/v1/conversation/message/retrieve")
async def retrieve_message(conversation_id: str, message_id: str, uow: Uow, caller: Caller) -> dict[str, Any]:
    return ok(message_view(await conversations.get_message(uow, caller, conversation_id, message_id)))


@router.post("/v1/conversation/message/modify")
async def modify_message(
    conversation_id: str, message_id: str, body: UpdateMessageRequest, uow: Uow, caller: Caller
) -> dict[str, Any]:
    """cozepy reads the message from the ``message`` key here, not ``data``."""
    message = await conversations.update_message(uow, caller, conversation_id, message_id, body.fields())
    return {"code": 0, "msg": "", "message": message_view(message)}


@router.post("/v1/conversation/message/delete")
async def delete_message(conversation_id: str, message_id: str, uow: Uow, caller: Caller) -> dict[str, Any]:
    return ok(message_view(await conversations.delete_message(uow, caller, conversation_id, message_id)))


@router.post("/v1/conversations/{conversation_id}/messages/{message_id}/feedback")
async def create_feedback(
    conversation_id: str, message_id: str, body: FeedbackRequest, uow: Uow, caller: Caller
) -> dict[str, Any]:
    feedback = body.model_dump(exclude_none=True)
    await conversations.set_feedback(uow, caller, conversation_id, message_id, feedback)
    return ok(None)


@router.delete("/v1/conversations/{conversation_id}/messages/{message_id}/feedback")
async def delete_feedback(conversation_id: str, message_id: str, uow: Uow, caller: Caller) -> dict[str, Any]:
    await conversations.set_feedback(uow, caller, conversation_id, message_id, None)
    return ok(None)
