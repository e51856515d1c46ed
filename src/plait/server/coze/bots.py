"""Coze bot endpoints: create, update, publish, unpublish, retrieve (v1 online info, v2 draft or published), list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from plait.platform import bots
from plait.platform.plugin_bindings import bound_plugins
from plait.server.coze.bot_schemas import (
    CreateBotRequest,
    PublishBotRequest,
    PublishedBot,
    UnpublishBotRequest,
    UpdateBotRequest,
    render_bot,
)
from plait.server.deps import Caller, Uow, require_scope
from plait.server.envelope import ok

router = APIRouter(dependencies=[require_scope("bots")])
PageIndex = Annotated[int, Query(ge=1)]
PageSize = Annotated[int, Query(ge=1, le=100)]


@router.post("/v1/bot/create")
async def create_bot(body: CreateBotRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    bot = await bots.create_bot(uow, caller, body.space_id, body.config())
    return ok({"bot_id": bot.id})


@router.post("/v1/bot/update")
async def update_bot(body: UpdateBotRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    await bots.update_bot(uow, caller, body.bot_id, body.apply)
    return ok(None)


@router.post("/v1/bot/publish")
async def publish_bot(body: PublishBotRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    published = await bots.publish_bot(uow, caller, body.bot_id, body.connector_ids)
    return ok(PublishedBot(bot_id=published.bot_id, version=published.version).model_dump())


@router.post("/v1/bots/{bot_id}/unpublish")
async def unpublish_bot(bot_id: str, body: UnpublishBotRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    await bots.unpublish_bot(uow, caller, bot_id)
    return ok({})


@router.get("/v1/bot/get_online_info")
async def get_online_info(bot_id: str, uow: Uow, caller: Caller) -> dict[str, Any]:
    return ok(await _rendered(uow, caller, await bots.get_bot(uow, caller, bot_id, published=True)))


@router.get("/v1/bots/{bot_id}")
async def retrieve_bot(bot_id: str, uow: Uow, caller: Caller, is_published: bool = True) -> dict[str, Any]:
    return ok(await _rendered(uow, caller, await bots.get_bot(uow, caller, bot_id, published=is_published)))


async def _rendered(uow: Uow, caller: Caller, record: bots.BotRecord) -> dict[str, Any]:
    return render_bot(record, await bound_plugins(uow, caller.workspace_id, record.config))


@router.get("/v1/space/published_bots_list")
async def published_bots(
    space_id: str, uow: Uow, caller: Caller, page_index: PageIndex = 1, page_size: PageSize = 20
) -> dict[str, Any]:
    found = await bots.list_bots(
        uow, caller, space_id, status="published_online", page_num=page_index, page_size=page_size
    )
    space_bots = [
        {
            "bot_id": record.bot.id,
            "bot_name": record.name,
            "description": record.config.description,
            "icon_url": "",
            "publish_time": str(record.bot.published_at or 0),
        }
        for record in found.bots
    ]
    return ok({"space_bots": space_bots, "total": found.total})


@router.get("/v1/bots")
async def list_bots(
    workspace_id: str,
    uow: Uow,
    caller: Caller,
    page_index: PageIndex = 1,
    page_size: PageSize = 20,
    publish_status: str = "all",
) -> dict[str, Any]:
    found = await bots.list_bots(
        uow, caller, workspace_id, status=publish_status, page_num=page_index, page_size=page_size
    )
    items = [
        {
            "id": record.bot.id,
            "name": record.name,
            "description": record.config.description,
            "icon_url": "",
            "is_published": record.bot.published_version is not None,
            "updated_at": record.bot.updated_at,
            "published_at": record.bot.published_at,
            "owner_user_id": record.bot.owner_user_id or "",
        }
        for record in found.bots
    ]
    return ok({"items": items, "total": found.total})
