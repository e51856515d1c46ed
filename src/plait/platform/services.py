"""The services of one process: what every face (the API server, the CLI, workers) runs use cases with.

    services = await Services.open(settings)
    async with services.unit_of_work() as uow:
        ...
    await services.aclose()

``open`` migrates and bootstraps the database, claims this process's worker slot (unique ids, and the owner
of the chats it runs), and builds the long-lived parts: the model registry per workspace, the datasets'
knowledge indexes, the chat runner and the caches. ``aclose`` stops running chats and ingestions first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from plait.platform.access import PrincipalCache, bootstrap, user_workspaces
from plait.platform.bots import ensure_default_bot
from plait.platform.caches import CacheRelay
from plait.platform.chat.runner import ChatRunner
from plait.platform.dataset_indexes import DatasetIndexes
from plait.platform.memory.sessions import Sessions
from plait.platform.plugin_tools import PluginTools
from plait.platform.presence import Presence
from plait.platform.providers import WorkspaceModels
from plait.platform.redis_infra import RedisInfra
from plait.platform.workflows.ports import PlatformPorts
from plait.platform.workflows.recovery import Recovery
from plait.platform.workflows.runner import WorkflowRunner
from plait.platform.workflows.tools import BotWorkflows
from plait.settings import Settings
from plait.store import Database, UnitOfWork, upgrade
from plait.store.crypto import SecretBox
from plait.tools.net_guard import NetGuard


def secret_box(settings: Settings) -> SecretBox:
    """What encrypts the workspaces' provider keys and plugin secrets: the settings' keys, the first encrypting."""
    return SecretBox(*settings.aes_keys())


def migrate(settings: Settings) -> None:
    """Bring the database's schema to this version's (``plait db upgrade``)."""
    upgrade(settings.database_url)


async def prepare_database(settings: Settings) -> None:
    """Migrate and bootstrap (the admin, its workspace, the default bot); idempotent."""
    await asyncio.to_thread(migrate, settings)
    database = Database(settings.database_url)
    try:
        async with database.unit_of_work() as uow:
            admin = await bootstrap(uow)
            workspace, _ = (await user_workspaces(uow, admin.id))[0]
            await ensure_default_bot(uow, workspace.id, admin.id, settings.default_model)
    finally:
        await database.dispose()


@asynccontextmanager
async def admin_unit_of_work(settings: Settings) -> AsyncIterator[UnitOfWork]:
    """One unit of work for an admin command (``plait keys create``...), with the database migrated and a worker
    slot held while it runs, so the ids it makes are unique beside the servers'; works with no server up. With
    Redis, the servers' caches hear at once of what it changed."""
    await prepare_database(settings)
    database = Database(settings.database_url)
    presence = _presence(database, settings)
    try:
        await presence.start(keep_beating=False)
        try:
            async with _telling_servers(settings), database.unit_of_work() as uow:
                yield uow
        finally:
            await presence.aclose()
    finally:
        await database.dispose()


@asynccontextmanager
async def _telling_servers(settings: Settings) -> AsyncIterator[None]:
    """With Redis, what an admin command changes (a key revoked) is told to the servers' caches at once."""
    if not settings.redis_url:
        yield
        return
    from plait.store.redis_hub import RedisHub

    hub = RedisHub(settings.redis_url, settings.redis_prefix)
    relay = CacheRelay(hub)
    relay.start(listen=False)
    try:
        yield
    finally:
        await relay.aclose()
        await hub.aclose()


@dataclass(slots=True, kw_only=True)
class Services:
    settings: Settings
    database: Database
    box: SecretBox
    presence: Presence
    principals: PrincipalCache
    models: WorkspaceModels
    datasets: DatasetIndexes
    chats: ChatRunner
    plugins: PluginTools
    sessions: Sessions
    workflows: WorkflowRunner
    redis: RedisInfra | None = None  # PLAIT_REDIS_URL set: what the processes share besides the database

    @classmethod
    async def open(cls, settings: Settings, *, long_lived: bool = True) -> Services:
        """A server or worker is ``long_lived`` (it keeps its worker slot by heartbeats); a CLI command is not."""
        await prepare_database(settings)
        database = Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            pool_timeout=settings.database_pool_timeout_seconds,
        )
        presence = _presence(database, settings)
        await presence.start(keep_beating=long_lived)
        box = secret_box(settings)
        datasets = DatasetIndexes(
            settings.data_dir / "datasets",
            database,
            max_bytes=settings.max_upload_bytes,
            idle_seconds=settings.dataset_idle_seconds,
        )
        await datasets.recover()
        models = WorkspaceModels(database, box)
        plugins = PluginTools(database, box)
        sessions = Sessions(
            database, idle_seconds=settings.session_idle_seconds, expire_seconds=settings.session_expire_seconds
        )
        presence.each_beat(sessions.sweep_chore)
        redis = RedisInfra.open(settings, presence.instance)
        ports = PlatformPorts(database, settings=settings, datasets=datasets, plugins=plugins)
        workflows = WorkflowRunner(
            database,
            models=models,
            instance=presence.instance,
            timeout_seconds=settings.chat_timeout_seconds,
            extras={NetGuard: NetGuard(allowed_networks=settings.web_url_allowed_networks)},  # http_request nodes
            ports=ports,
        )
        chats = ChatRunner(
            database,
            models=models,
            datasets=datasets,
            instance=presence.instance,
            timeout_seconds=settings.chat_timeout_seconds,
            embedder=settings.embedder,
            plugins=plugins,
            sessions=sessions,
            workflows=BotWorkflows(database, workflows),
            bus=redis.bus if redis is not None else None,
        )
        if redis is not None:
            redis.attach(chats, datasets, workflows)
        ports.chats = chats  # agent nodes run bots with it
        presence.each_beat(chats.reconcile)
        recovery = Recovery(database, workflows, stale_after_seconds=settings.worker_stale_seconds)
        if long_lived:  # a server resumes the runs a stopped one left, from their last checkpoint
            await recovery.sweep()
            presence.each_beat(recovery.sweep)
        return cls(
            settings=settings,
            database=database,
            box=box,
            presence=presence,
            principals=PrincipalCache(settings.auth_cache_seconds),
            models=models,
            datasets=datasets,
            chats=chats,
            plugins=plugins,
            sessions=sessions,
            workflows=workflows,
            redis=redis,
        )

    def unit_of_work(self) -> UnitOfWork:
        return self.database.unit_of_work()

    async def aclose(self) -> None:
        await self.chats.aclose()
        await self.workflows.aclose()
        await self.plugins.aclose()  # after the chats: their calls may still use a server
        await self.datasets.close()
        await self.models.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.presence.aclose()
        await self.database.dispose()


def _presence(database: Database, settings: Settings) -> Presence:
    return Presence(
        database, heartbeat_seconds=settings.heartbeat_seconds, stale_after_seconds=settings.worker_stale_seconds
    )
