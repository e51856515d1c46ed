"""Bots: a draft anyone with a writer role edits, and published versions that are frozen snapshots of it.

A bot's configuration is a typed `BotConfig`; a change is checked as a whole (its model's provider, its tools)
before it is stored. Chats read the published version through a short cache.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from plait.models.registry import default_registry
from plait.platform import audit, caches
from plait.platform.access import Principal
from plait.platform.bot_config import BotConfig, ModelSettings, Onboarding
from plait.platform.errors import InvalidParams, NotFound
from plait.platform.plugin_bindings import check_bindings
from plait.platform.routing import RoutingSettings
from plait.schema import ToolSpec
from plait.store import UnitOfWork, new_id
from plait.store.repositories.base import MAX_PAGE_SIZE as MAX_PAGE_SIZE  # the largest page a list takes
from plait.store.tables import Bot, BotVersion

CONFIG_COLUMNS = (
    "name",
    "description",
    "icon_file_id",
    "prompt",
    "model_info",
    "knowledge",
    "tools",
    "variables",
    "suggest_reply",
    "onboarding",
    "plugins",
    "approve_before",
    "workflows",
)  # the Bot columns a BotConfig is stored in, and a published version's snapshot holds
SEARCH_STRATEGIES = (0, 1, 20)  # a bot's knowledge.search_strategy: hybrid, semantic (vectors), full text (BM25)
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
PUBLISHED_CACHE_SECONDS = 5.0
PUBLISHED_CACHE_SIZE = 1024

_published: dict[tuple[str, str], tuple[float, BotRecord]] = {}


class _PublishedForgetter:
    """Drops a bot's published version from ``_published`` when the bot's row changes, in every process with
    Redis (`plait.platform.caches`)."""

    def forget(self, topic: str, key: str) -> None:
        if topic == "bot":
            workspace_id, _, bot_id = key.partition(" ")
            _published.pop((workspace_id, bot_id), None)


_forgetter = _PublishedForgetter()
caches.register(_forgetter)
DEFAULT_BOT_NAME = "Plait Assistant"
DEFAULT_PERSONA = "You are Plait Assistant, a helpful and concise assistant. Answer in the language of the question."
PUBLISH_STATUS = {"all": None, "published_online": True, "published_draft": True, "unpublished_draft": False}


@dataclass(frozen=True, slots=True, kw_only=True)
class BotInfo:
    """A bot apart from its configuration: who owns it, when it changed, which version is online."""

    id: str
    workspace_id: str
    owner_user_id: str | None
    created_at: int
    updated_at: int
    published_version: str | None
    published_at: int | None

    @classmethod
    def of(cls, bot: Bot) -> BotInfo:
        return cls(
            id=bot.id,
            workspace_id=bot.workspace_id,
            owner_user_id=bot.owner_user_id,
            created_at=bot.created_at,
            updated_at=bot.updated_at,
            published_version=bot.published_version,
            published_at=bot.published_at,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BotRecord:
    """A bot as one of its versions (or its draft) describes it."""

    bot: BotInfo
    config: BotConfig
    version: str | None

    @property
    def name(self) -> str:
        return self.config.name


@dataclass(frozen=True, slots=True, kw_only=True)
class BotList:
    bots: list[BotRecord]
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


def check_tools(tools: Sequence[ToolSpec]) -> None:
    """Client tools are function specs a model can call: unique names models accept, object schemas."""
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        if not TOOL_NAME.fullmatch(tool.name):
            raise InvalidParams(f"tools[{index}].name: {tool.name!r}: use 1-64 letters, digits, _ or -")
        if tool.name in seen:
            raise InvalidParams(f"tools[{index}].name: {tool.name!r} is used twice")
        seen.add(tool.name)
        if tool.parameters.get("type", "object") != "object":
            raise InvalidParams(f"tools[{index}].parameters: a JSON Schema of type object")


async def _checked(
    uow: UnitOfWork, workspace_id: str, before: BotConfig | None, after: BotConfig, *, bot_id: str | None = None
) -> BotConfig:
    """Check what a change sets: a model id only when it changed (a provider may have gone since)."""
    if not after.name:
        raise InvalidParams("name: must not be empty")
    if after.model.model_id and (before is None or after.model.model_id != before.model.model_id):
        providers = [config.name for config in await uow.model_configs.all(workspace_id)]
        check_model_id(after.model.model_id, providers)
    check_tools(after.tools)
    strategy = after.knowledge.search_strategy
    if strategy != (before.knowledge.search_strategy if before else 0) and strategy not in SEARCH_STRATEGIES:
        raise InvalidParams(f"knowledge.search_strategy: 0 (hybrid), 1 (semantic) or 20 (full text), not {strategy}")
    await check_bindings(uow, workspace_id, before, after)
    if after.workflow_ids != (before.workflow_ids if before is not None else ()):
        await _check_workflows(uow, workspace_id, after.workflow_ids)
    if after.routing is not None and after.routing != (before and before.routing):
        await _check_routing(uow, workspace_id, bot_id, after.routing)
    return after


async def _check_routing(uow: UnitOfWork, workspace_id: str, bot_id: str | None, routing: RoutingSettings) -> None:
    """A router's bots are published bots of its workspace that answer themselves: routing is one hop, so no
    chain of routers can loop back."""
    for index, target in enumerate(routing.targets):
        place = f"routing.bot_ids[{index}]" if index < len(routing.bot_ids) else "routing.fallback_bot_id"
        if target == bot_id:
            raise InvalidParams(f"{place}: a router cannot route to itself")
        bot = await uow.bots.get(workspace_id, target)
        if bot is None:
            raise InvalidParams(f"{place}: bot {target} not found in this workspace")
        version = (
            None
            if bot.published_version is None
            else await uow.bot_versions.find(workspace_id, target, bot.published_version)
        )
        if version is None:
            raise InvalidParams(f"{place}: bot {target} is not published; publish it before routing to it")
        if BotConfig.from_columns(version.snapshot).routing is not None:
            raise InvalidParams(f"{place}: bot {target} is a router itself; routing goes one hop, so no loops")


async def _check_workflows(uow: UnitOfWork, workspace_id: str, workflow_ids: Sequence[str]) -> None:
    """A bot's workflows are workflows of its workspace (a chat offers those published as its tools)."""
    found = {row.id for row in await uow.workflows.among(workspace_id, workflow_ids)}
    for index, workflow_id in enumerate(workflow_ids):
        if workflow_id not in found:
            raise InvalidParams(f"workflow_id_list.ids[{index}].id: workflow {workflow_id} not found in this workspace")


def _columns(bot: Bot) -> dict[str, Any]:
    return {column: getattr(bot, column) for column in CONFIG_COLUMNS}


def _draft(bot: Bot, *, version: str | None) -> BotRecord:
    return BotRecord(bot=BotInfo.of(bot), config=BotConfig.from_columns(_columns(bot)), version=version)


async def _get(uow: UnitOfWork, principal: Principal, bot_id: str) -> Bot:
    bot = await uow.bots.get(principal.workspace_id, bot_id)
    if bot is None:
        raise NotFound(f"bot {bot_id} not found")
    return bot


async def create_bot(uow: UnitOfWork, principal: Principal, space_id: str, config: BotConfig) -> BotInfo:
    principal.require_workspace(space_id)
    principal.require_writer()
    config = await _checked(uow, space_id, None, config)
    bot = await uow.bots.add(Bot(workspace_id=space_id, owner_user_id=principal.user_id, **config.columns()))
    return BotInfo.of(bot)


async def update_bot(
    uow: UnitOfWork, principal: Principal, bot_id: str, change: Callable[[BotConfig], BotConfig]
) -> BotInfo:
    """Apply ``change`` to the draft (published versions stay as they are)."""
    principal.require_writer()
    draft = BotConfig.from_columns(_columns(await _get(uow, principal, bot_id)))
    config = await _checked(uow, principal.workspace_id, draft, change(draft), bot_id=bot_id)
    bot = await uow.bots.update(principal.workspace_id, bot_id, **config.columns())
    assert bot is not None  # read above in this transaction
    _published.pop((principal.workspace_id, bot_id), None)
    return BotInfo.of(bot)


@dataclass(frozen=True, slots=True, kw_only=True)
class Published:
    bot_id: str
    version: str


async def publish_bot(uow: UnitOfWork, principal: Principal, bot_id: str, connector_ids: list[str]) -> Published:
    """Freeze the draft as a new version; what chats run from now on."""
    principal.require_writer()
    bot = await _get(uow, principal, bot_id)
    version = await uow.bot_versions.add(
        BotVersion(
            workspace_id=bot.workspace_id,
            bot_id=bot.id,
            version=new_id(),
            snapshot=_columns(bot),
            connector_ids=connector_ids,
        )
    )
    await uow.bots.update(
        bot.workspace_id, bot.id, published_version=version.version, published_at=version.published_at
    )
    _published.pop((bot.workspace_id, bot.id), None)
    _audit(uow, principal, "bot.publish", bot, version=version.version, connector_ids=list(connector_ids))
    return Published(bot_id=bot.id, version=version.version)


def _audit(uow: UnitOfWork, principal: Principal, action: str, bot: Bot, **detail: audit.Detail) -> None:
    audit.record(uow, audit.Actor.of(principal), action, bot.workspace_id, ("bot", bot.id), name=bot.name, **detail)


async def unpublish_bot(uow: UnitOfWork, principal: Principal, bot_id: str) -> None:
    """Take the bot offline: chats and published reads fail until it is published again; its versions stay."""
    principal.require_writer()
    bot = await _get(uow, principal, bot_id)
    if bot.published_version is None:
        raise InvalidParams(f"bot {bot_id} is not published")
    version = bot.published_version
    await uow.bots.update(bot.workspace_id, bot.id, published_version=None, published_at=None)
    _published.pop((bot.workspace_id, bot.id), None)
    _audit(uow, principal, "bot.unpublish", bot, version=version)


async def get_bot(uow: UnitOfWork, principal: Principal, bot_id: str, *, published: bool) -> BotRecord:
    """The latest published version, or the draft; an unpublished bot has no published version (4200)."""
    bot = await _get(uow, principal, bot_id)
    if not published:
        return BotRecord(
            bot=BotInfo.of(bot), config=BotConfig.from_columns(_columns(bot)), version=bot.published_version
        )
    if bot.published_version is None:
        raise NotFound(f"bot {bot_id} has not been published")
    version = await uow.bot_versions.find(bot.workspace_id, bot.id, bot.published_version)
    if version is None:
        raise NotFound(f"bot {bot_id} has not been published")
    return BotRecord(bot=BotInfo.of(bot), config=BotConfig.from_columns(version.snapshot), version=version.version)


async def published_bot(uow: UnitOfWork, principal: Principal, bot_id: str) -> BotRecord:
    """``get_bot(published=True)`` through a short cache: every chat turn needs it, a publish is rare. A bot
    updated or published is forgotten at once (by every process, with Redis), else in ``PUBLISHED_CACHE_SECONDS``."""
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
    records = [
        BotRecord(bot=BotInfo.of(b), config=BotConfig.from_columns(_columns(b)), version=None) for b in page.items
    ]
    return BotList(bots=records, total=page.total)


async def ensure_default_bot(uow: UnitOfWork, workspace_id: str, owner_id: str, model_id: str) -> BotInfo | None:
    """A published assistant in a workspace that has no bot yet (first start), so there is something to chat
    with at once; None when the workspace already has bots."""
    if (await uow.bots.search(workspace_id, published=None, page_num=1, page_size=1)).total:
        return None
    check_model_id(model_id)
    config = BotConfig(
        name=DEFAULT_BOT_NAME,
        description="The assistant every new Plait starts with.",
        persona=DEFAULT_PERSONA,
        model=ModelSettings(model_id=model_id, max_tokens=256),
        onboarding=Onboarding(prologue="Hello! What can I do for you?"),
    )
    owner = Principal(key_id=audit.SYSTEM, user_id=owner_id, workspace_id=workspace_id, role="owner")
    bot = await create_bot(uow, owner, workspace_id, config)
    await publish_bot(uow, owner, bot.id, ["1024"])
    return bot
