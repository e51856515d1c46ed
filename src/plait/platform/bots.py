"""Bots: a draft anyone with a writer role edits, and published versions that are frozen snapshots of it.

The config blocks are kept as the plain JSON the Coze API speaks (``prompt_info``, ``model_info_config``...);
the platform checks what it can (the model id's provider) and stores the rest as given.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from plait.models.registry import default_registry
from plait.platform.access import Principal
from plait.platform.errors import InvalidParams, NotFound
from plait.store import UnitOfWork, new_id
from plait.store.models import Bot, BotVersion
from plait.store.repositories.base import MAX_PAGE_SIZE as MAX_PAGE_SIZE  # the largest page a list takes

# Coze field name -> Bot column; these are what a publish snapshots.
CONFIG_FIELDS = {
    "name": "name",
    "description": "description",
    "icon_file_id": "icon_file_id",
    "prompt_info": "prompt",
    "onboarding_info": "onboarding",
    "suggest_reply_info": "suggest_reply",
    "model_info_config": "model_info",
    "plugin_id_list": "plugins",
    "workflow_id_list": "workflows",
    "knowledge": "knowledge",
    "variables": "variables",
    "tools": "tools",
}
LIST_FIELDS = {"plugin_id_list": "id_list", "workflow_id_list": "ids"}  # stored as the bare list
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
PUBLISHED_CACHE_SECONDS = 5.0
PUBLISHED_CACHE_SIZE = 1024
_published: dict[tuple[str, str], tuple[float, BotRecord]] = {}
DEFAULT_BOT_NAME = "Plait Assistant"
DEFAULT_PERSONA = "You are Plait Assistant, a helpful and concise assistant. Answer in the language of the question."
PUBLISH_STATUS = {"all": None, "published_online": True, "published_draft": True, "unpublished_draft": False}


@dataclass(frozen=True, slots=True, kw_only=True)
class BotRecord:
    """A bot as one of its versions (or its draft) describes it; ``config`` is keyed by column name."""

    bot: Bot
    config: dict[str, Any]
    version: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BotList:
    bots: list[Bot]
    total: int


def check_model_id(model_id: str, workspace_providers: Collection[str] = ()) -> None:
    """Reject ids no registry of the workspace could build, naming the providers it has."""
    provider, _, name = model_id.partition("/")
    if not provider or not name:
        raise InvalidParams(f"model_info_config.model_id: {model_id!r}: model ids look like provider/model")
    known = sorted({p.name for p in default_registry().providers} | set(workspace_providers))
    if provider not in known:
        raise InvalidParams(
            f"model_info_config.model_id: unknown provider {provider!r}; known providers: {', '.join(known)}"
        )


def check_tools(tools: list[dict[str, Any]]) -> None:
    """Client tools are function specs a model can call: unique names models accept, object schemas."""
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        name = tool.get("name", "")
        if not TOOL_NAME.fullmatch(name):
            raise InvalidParams(f"tools[{index}].name: {name!r}: use 1-64 letters, digits, _ or -")
        if name in seen:
            raise InvalidParams(f"tools[{index}].name: {name!r} is used twice")
        seen.add(name)
        if tool.get("parameters", {}).get("type", "object") != "object":
            raise InvalidParams(f"tools[{index}].parameters: a JSON Schema of type object")


async def _columns(uow: UnitOfWork, workspace_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Coze request fields (None: not given) to column values."""
    values: dict[str, Any] = {}
    for field, column in CONFIG_FIELDS.items():
        value = fields.get(field)
        if value is None:
            continue
        if field == "model_info_config":
            providers = [config.name for config in await uow.model_configs.all(workspace_id)]
            check_model_id(value["model_id"], providers)
        if field == "tools":
            check_tools(value)
        values[column] = value.get(LIST_FIELDS[field]) or [] if field in LIST_FIELDS else value
    return values


def _draft(bot: Bot) -> dict[str, Any]:
    return {column: getattr(bot, column) for column in CONFIG_FIELDS.values()}


async def _get(uow: UnitOfWork, principal: Principal, bot_id: str) -> Bot:
    bot = await uow.bots.get(principal.workspace_id, bot_id)
    if bot is None:
        raise NotFound(f"bot {bot_id} not found")
    return bot


async def create_bot(uow: UnitOfWork, principal: Principal, space_id: str, fields: dict[str, Any]) -> Bot:
    principal.require_workspace(space_id)
    principal.require_writer()
    values = {"prompt": {"prompt": ""}, **await _columns(uow, space_id, fields)}
    if not values.get("name"):
        raise InvalidParams("name: must not be empty")
    return await uow.bots.add(Bot(workspace_id=space_id, owner_user_id=principal.user_id, **values))


async def update_bot(uow: UnitOfWork, principal: Principal, bot_id: str, fields: dict[str, Any]) -> Bot:
    principal.require_writer()
    await _get(uow, principal, bot_id)
    values = await _columns(uow, principal.workspace_id, fields)
    if "name" in values and not values["name"]:
        raise InvalidParams("name: must not be empty")
    bot = await uow.bots.update(principal.workspace_id, bot_id, **values)
    assert bot is not None  # read above in this transaction
    _published.pop((principal.workspace_id, bot_id), None)
    return bot


async def publish_bot(uow: UnitOfWork, principal: Principal, bot_id: str, connector_ids: list[str]) -> BotVersion:
    """Freeze the draft as a new version; what chats run from now on."""
    principal.require_writer()
    bot = await _get(uow, principal, bot_id)
    version = await uow.bot_versions.add(
        BotVersion(
            workspace_id=bot.workspace_id,
            bot_id=bot.id,
            version=new_id(),
            snapshot=_draft(bot),
            connector_ids=connector_ids,
        )
    )
    await uow.bots.update(
        bot.workspace_id, bot.id, published_version=version.version, published_at=version.published_at
    )
    _published.pop((bot.workspace_id, bot.id), None)
    return version


async def unpublish_bot(uow: UnitOfWork, principal: Principal, bot_id: str) -> None:
    """Take the bot offline: chats and published reads fail until it is published again; its versions stay."""
    principal.require_writer()
    bot = await _get(uow, principal, bot_id)
    if bot.published_version is None:
        raise InvalidParams(f"bot {bot_id} is not published")
    await uow.bots.update(bot.workspace_id, bot.id, published_version=None, published_at=None)
    _published.pop((bot.workspace_id, bot.id), None)


async def get_bot(uow: UnitOfWork, principal: Principal, bot_id: str, *, published: bool) -> BotRecord:
    """The latest published version, or the draft; an unpublished bot has no published version (4200)."""
    bot = await _get(uow, principal, bot_id)
    if not published:
        return BotRecord(bot=bot, config=_draft(bot), version=bot.published_version)
    if bot.published_version is None:
        raise NotFound(f"bot {bot_id} has not been published")
    version = await uow.bot_versions.find(bot.workspace_id, bot.id, bot.published_version)
    if version is None:
        raise NotFound(f"bot {bot_id} has not been published")
    return BotRecord(bot=bot, config=dict(version.snapshot), version=version.version)


async def published_bot(uow: UnitOfWork, principal: Principal, bot_id: str) -> BotRecord:
    """``get_bot(published=True)`` through a short cache: every chat turn needs it, a publish is rare. This
    process forgets a bot when it is updated or published here; other workers within ``PUBLISHED_CACHE_SECONDS``."""
    key = (principal.workspace_id, bot_id)
    hit = _published.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    record = await get_bot(uow, principal, bot_id, published=True)
    if len(_published) >= PUBLISHED_CACHE_SIZE:
        _published.pop(next(iter(_published)))
    _published[key] = (time.monotonic() + PUBLISHED_CACHE_SECONDS, record)
    return record


async def list_bots(
    uow: UnitOfWork, principal: Principal, space_id: str, *, status: str, page_num: int, page_size: int
) -> BotList:
    principal.require_workspace(space_id)
    if status not in PUBLISH_STATUS:
        raise InvalidParams(f"publish_status: expected one of {', '.join(PUBLISH_STATUS)}, got {status!r}")
    page = await uow.bots.search(space_id, published=PUBLISH_STATUS[status], page_num=page_num, page_size=page_size)
    return BotList(bots=page.items, total=page.total)


async def ensure_default_bot(uow: UnitOfWork, workspace_id: str, owner_id: str, model_id: str) -> Bot | None:
    """A published assistant in a workspace that has no bot yet (first start), so there is something to chat
    with at once; None when the workspace already has bots."""
    if (await uow.bots.search(workspace_id, published=None, page_num=1, page_size=1)).total:
        return None
    check_model_id(model_id)
    bot = await uow.bots.add(
        Bot(
            workspace_id=workspace_id,
            owner_user_id=owner_id,
            name=DEFAULT_BOT_NAME,
            description="The assistant every new Plait starts with.",
            prompt={"prompt": DEFAULT_PERSONA},
            model_info={"model_id": model_id, "max_tokens": 256},
            onboarding={"prologue": "Hello! What can I do for you?", "suggested_questions": []},
        )
    )
    owner = Principal(key_id="", user_id=owner_id, workspace_id=workspace_id, role="owner")
    await publish_bot(uow, owner, bot.id, ["1024"])
    return bot
