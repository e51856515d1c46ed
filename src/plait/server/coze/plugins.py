"""Plugin endpoints (a Plait extension in Coze's style): create, list, retrieve, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from plait.platform import plugins
from plait.server.coze.plugin_schemas import (
    CreatePluginRequest,
    DeletePluginRequest,
    UpdatePluginRequest,
    render_plugin,
)
from plait.server.deps import Caller, Services, Uow, require_scope
from plait.server.envelope import ok

router = APIRouter(dependencies=[require_scope("bots")])


def _context(services: Services) -> plugins.PluginContext:
    return plugins.PluginContext(box=services.box, tools=services.plugins, data_dir=services.settings.data_dir)


@router.post("/v1/plugins/create")
async def create_plugin(body: CreatePluginRequest, uow: Uow, caller: Caller, services: Services) -> dict[str, Any]:
    caller.require_workspace(body.space_id)
    return ok(render_plugin(await plugins.create_plugin(uow, caller, _context(services), body.typed())))


@router.get("/v1/plugins/list")
async def list_plugins(space_id: str, uow: Uow, caller: Caller, services: Services) -> dict[str, Any]:
    found = await plugins.list_plugins(uow, caller, services.plugins, space_id)
    return ok({"items": [render_plugin(record) for record in found], "total": len(found)})


@router.get("/v1/plugins/retrieve")
async def retrieve_plugin(plugin_id: str, uow: Uow, caller: Caller, services: Services) -> dict[str, Any]:
    return ok(render_plugin(await plugins.get_plugin(uow, caller, services.plugins, plugin_id)))


@router.post("/v1/plugins/update")
async def update_plugin(body: UpdatePluginRequest, uow: Uow, caller: Caller, services: Services) -> dict[str, Any]:
    record = await plugins.update_plugin(uow, caller, _context(services), body.plugin_id, body.typed())
    return ok(render_plugin(record))


@router.post("/v1/plugins/delete")
async def delete_plugin(body: DeletePluginRequest, uow: Uow, caller: Caller, services: Services) -> dict[str, Any]:
    await plugins.delete_plugin(uow, caller, services.plugins, body.plugin_id)
    return ok({})
