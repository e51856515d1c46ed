"""``/api/studio/agents``: list, create, read and save the draft, publish, version history and one version's
config; and the models an agent may use."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from plait.models.registry import default_registry
from plait.platform import bot_versions, bots, plugin_bindings, providers
from plait.platform.bot_config import BotConfig, ModelSettings
from plait.server.deps import Services, Uow
from plait.server.studio.agent_schemas import (
    AgentDraft,
    NewAgent,
    agent_view,
    summary_view,
    version_config_view,
    version_view,
)
from plait.server.studio.auth import StudioCaller

router = APIRouter(prefix="/api/studio")
PageNum = Annotated[int, Query(ge=1)]
PageSize = Annotated[int, Query(ge=1, le=bots.MAX_PAGE_SIZE)]
Version = Annotated[str, Path(description="A version id, as the version history lists it", max_length=40)]
STUDIO_CONNECTOR = "1024"  # Coze's "API" connector: a studio publish serves the API like any other


@router.get("/agents")
async def list_agents(
    uow: Uow, caller: StudioCaller, page_num: PageNum = 1, page_size: PageSize = 50
) -> dict[str, Any]:
    found = await bots.list_bots(uow, caller, caller.workspace_id, status="all", page_num=page_num, page_size=page_size)
    return {"items": [summary_view(record) for record in found.bots], "total": found.total}


@router.post("/agents", status_code=201)
async def create_agent(body: NewAgent, uow: Uow, caller: StudioCaller, services: Services) -> dict[str, Any]:
    model = ModelSettings(model_id=body.model_id or services.settings.default_model)
    config = BotConfig(name=body.name.strip(), description=body.description, model=model)
    info = await bots.create_bot(uow, caller, caller.workspace_id, config)
    return agent_view(await bots.get_bot(uow, caller, info.id, published=False))


@router.get("/agents/{agent_id}")
async def get_agent(agent_id: str, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    return agent_view(await bots.get_bot(uow, caller, agent_id, published=False))


@router.put("/agents/{agent_id}")
async def save_draft(agent_id: str, body: AgentDraft, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    await bots.update_bot(uow, caller, agent_id, body.apply)
    return agent_view(await bots.get_bot(uow, caller, agent_id, published=False))


@router.post("/agents/{agent_id}/publish")
async def publish_agent(agent_id: str, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    published = await bots.publish_bot(uow, caller, agent_id, [STUDIO_CONNECTOR])
    return {"id": published.bot_id, "version": published.version}


@router.get("/agents/{agent_id}/versions")
async def list_versions(
    agent_id: str, uow: Uow, caller: StudioCaller, page_num: PageNum = 1, page_size: PageSize = 20
) -> dict[str, Any]:
    page = await bot_versions.list_versions(uow, caller, agent_id, page_num=page_num, page_size=page_size)
    return {"items": [version_view(version) for version in page.items], "total": page.total}


@router.get("/agents/{agent_id}/versions/{version}")
async def get_version(agent_id: str, version: Version, uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    """One published version with its whole config, to compare with another or with the draft."""
    return version_config_view(await bot_versions.get_version(uow, caller, agent_id, version))


@router.get("/plugins")
async def list_plugins(uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    """What an agent's tools may come from: the built-in plugins, then the workspace's OpenAPI plugins and MCP
    servers, each with its operations (an agent binds one as ``{plugin_id, api_id}``)."""
    items = await plugin_bindings.bindable_plugins(uow, caller)
    return {
        "items": [
            asdict(item) | {"operations": [{"name": n, "description": d} for n, d in item.operations.items()]}
            for item in items
        ]
    }


@router.get("/models")
async def list_models(uow: Uow, caller: StudioCaller) -> dict[str, Any]:
    """The model ids the built-in providers list, then the workspace's own providers' (which may add more)."""
    ids = [f"{p.name}/{model}" for p in default_registry().providers for model in p.models]
    for config in await providers.list_providers(uow, caller):
        ids.extend(f"{config.name}/{model}" for model in config.model.split(",") if model)
    return {"items": list(dict.fromkeys(ids))}
