"""The audit log on SQLite and PostgreSQL: each admin action writes exactly one row, with its actor and target,
in its own transaction (an action that fails or rolls back writes none); no secret reaches a row or the log;
only owners and admins read a workspace's events; filters select, and bad ones are refused."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from platform_fixtures import workspace_owner

from plait.platform import Forbidden, InvalidParams, NotFound, access, audit, bots, providers
from plait.platform.access import Principal
from plait.platform.audit_log import AuditFilter, EventRecord, instance_events, workspace_events
from plait.platform.bot_config import BotConfig, ModelSettings
from plait.platform.plugin_tools import PluginTools
from plait.platform.plugins import (
    AuthSettings,
    NewPlugin,
    OpenAPISource,
    PluginChange,
    PluginContext,
    create_plugin,
    delete_plugin,
    update_plugin,
)
from plait.platform.secret_rotation import rotate_secret_key
from plait.platform.workflows import catalog
from plait.settings import Settings
from plait.store import Database, UnitOfWork
from plait.store.crypto import SecretBox

SECRET = "sk-audit-secret-0123456789abcdef"
PLUGIN_SECRET = "tok-audit-plugin-secret-42"
PING = {"get": {"operationId": "ping", "responses": {"200": {"description": "ok"}}}}
SERVERS = [{"url": "http://127.0.0.1:9"}]
DOCUMENT = json.dumps(
    {"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "servers": SERVERS, "paths": {"/ping": PING}}
)
WORKFLOW = {
    "name": "audited",
    "inputs": [{"name": "text", "type": "string"}],
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "end", "type": "end", "inputs": {"echo": {"ref": {"node": "start", "output": "text"}}}},
    ],
    "edges": [{"source": "start", "target": "end"}],
}
KEY_ID = "7000000000000000001"  # the key the principal acts with


class Log:
    """The database and the owner's principal (acting with ``KEY_ID``); ``one`` runs a use case in its own unit
    of work and returns the one row it added."""

    def __init__(self, database: Database, owner: Principal, tmp_path: Path) -> None:
        self.database = database
        self.owner = owner
        self.box = SecretBox(os.urandom(32))
        self.tools = PluginTools(database, self.box)
        self.context = PluginContext(box=self.box, tools=self.tools, data_dir=tmp_path)

    async def events(self, found: AuditFilter | None = None) -> list[EventRecord]:
        async with self.database.unit_of_work() as uow:
            return (await instance_events(uow, found or AuditFilter(), page_size=100)).items

    async def one(self, work: Callable[[UnitOfWork], Awaitable[Any]]) -> tuple[Any, EventRecord]:
        before = {event.id for event in await self.events()}
        async with self.database.unit_of_work() as uow:
            result = await work(uow)
        added = [event for event in await self.events() if event.id not in before]
        assert len(added) == 1, added
        return result, added[0]

    async def none(self, work: Callable[[UnitOfWork], Awaitable[Any]], error: type[Exception]) -> None:
        before = await self.events()
        with pytest.raises(error):
            async with self.database.unit_of_work() as uow:
                await work(uow)
        assert await self.events() == before


@pytest.fixture
async def log(database_url: str, tmp_path: Path) -> AsyncIterator[Log]:
    database = Database(database_url)
    async with database.unit_of_work() as uow:
        owner = await workspace_owner(uow)
    made = Log(
        database,
        Principal(key_id=KEY_ID, user_id=owner.user_id, workspace_id=owner.workspace_id, role="owner"),
        tmp_path,
    )
    try:
        yield made
    finally:
        await made.tools.aclose()
        await database.dispose()


def _actor(log: Log) -> audit.Actor:
    return audit.Actor.of(log.owner)


async def test_each_admin_action_writes_one_row_with_its_actor_and_target(
    log: Log, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="plait.platform.audit")
    owner, space = log.owner, log.owner.workspace_id
    seen: dict[str, EventRecord] = {}

    async def act(work: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
        result, event = await log.one(work)
        assert (event.actor_user_id, event.actor_key_id) == (owner.user_id, KEY_ID), event
        assert event.action not in seen, event
        seen[event.action] = event
        return result

    new = await act(
        lambda uow: access.create_key(uow, _actor(log), workspace_id=space, user_id=owner.user_id, name="ci")
    )
    await act(lambda uow: access.revoke_key(uow, _actor(log), [space], new.key.id))
    base_url = f"https://user:{SECRET}@gateway.example:8443/v1?api_key={SECRET}"
    change = providers.ProviderChange(name="gw", kind="openai_compat", api_key=SECRET, base_url=base_url)
    await act(lambda uow: providers.set_provider(uow, owner, log.box, change))
    await act(lambda uow: providers.remove_provider(uow, owner, "gw"))
    auth = AuthSettings(kind="bearer", secret=PLUGIN_SECRET)
    plugin = NewPlugin(name="pets", kind="openapi", openapi=OpenAPISource(document=DOCUMENT), auth=auth)
    made = await act(lambda uow: create_plugin(uow, owner, log.context, plugin))
    rotated = PluginChange(auth=AuthSettings(kind="bearer", secret=PLUGIN_SECRET + "-2"), timeout_seconds=5)
    await act(lambda uow: update_plugin(uow, owner, log.context, made.id, rotated))
    await act(lambda uow: delete_plugin(uow, owner, log.tools, made.id))
    async with log.database.unit_of_work() as uow:
        bot = await bots.create_bot(
            uow, owner, space, BotConfig(name="b", model=ModelSettings(model_id="scripted/echo"))
        )
    published = await act(lambda uow: bots.publish_bot(uow, owner, bot.id, ["1024"]))
    await act(lambda uow: bots.unpublish_bot(uow, owner, bot.id))
    flow = await act(lambda uow: catalog.create_workflow(uow, owner, WORKFLOW, publish=True))

    async def team(uow: UnitOfWork) -> Any:
        admin = await access.bootstrap(uow)
        return await access.find_or_create_workspace(uow, _actor(log), admin, "Team")

    workspace = await act(team)

    async def member(uow: UnitOfWork) -> Any:
        return await access.find_or_add_member(uow, _actor(log), workspace, "dana", "viewer")

    dana = await act(member)
    targets = {action: (event.workspace_id, event.target_type, event.target_id) for action, event in seen.items()}
    assert targets == {
        "api_key.create": (space, "api_key", new.key.id),
        "api_key.revoke": (space, "api_key", new.key.id),
        "provider.set": (space, "provider", "gw"),
        "provider.delete": (space, "provider", "gw"),
        "plugin.create": (space, "plugin", made.id),
        "plugin.update": (space, "plugin", made.id),
        "plugin.delete": (space, "plugin", made.id),
        "bot.publish": (space, "bot", bot.id),
        "bot.unpublish": (space, "bot", bot.id),
        "workflow.publish": (space, "workflow", flow.id),
        "workspace.create": (workspace.id, "workspace", workspace.id),
        "member.add": (workspace.id, "user", dana.id),
    }
    assert seen["api_key.create"].detail == {"name": "ci", "scopes": [], "user_id": owner.user_id}
    assert seen["provider.set"].detail == {
        "kind": "openai_compat",
        "models": [],
        "endpoint": "https://gateway.example:8443",
        "key": "set",
    }
    assert seen["plugin.update"].detail["changed"] == ["auth", "timeout_seconds"]
    assert seen["bot.publish"].detail["version"] == published.version
    assert seen["member.add"].detail == {"name": "dana", "role": "viewer"}
    everything = json.dumps([asdict(event) for event in await log.events()])
    for secret in (SECRET, PLUGIN_SECRET, new.token, new.token[12:]):
        assert secret not in everything
        assert secret not in caplog.text
    assert f"audit api_key.create api_key {new.key.id}" in caplog.text  # logged once committed, detail left out


async def test_a_refused_or_rolled_back_action_writes_no_row(log: Log) -> None:
    owner, space = log.owner, log.owner.workspace_id
    viewer = Principal(key_id=KEY_ID, user_id=owner.user_id, workspace_id=space, role="viewer")
    member = Principal(key_id=KEY_ID, user_id=owner.user_id, workspace_id=space, role="member")
    bad_url = providers.ProviderChange(name="gw", kind="openai_compat", base_url="http://[::1/v1")
    await log.none(lambda uow: providers.set_provider(uow, owner, log.box, bad_url), InvalidParams)
    await log.none(
        lambda uow: providers.set_provider(uow, member, log.box, providers.ProviderChange(name="openai")), Forbidden
    )
    await log.none(lambda uow: providers.remove_provider(uow, owner, "nothing"), NotFound)
    await log.none(lambda uow: access.revoke_key(uow, _actor(log), [space], "404"), NotFound)
    await log.none(
        lambda uow: access.create_key(
            uow, _actor(log), workspace_id=space, user_id=owner.user_id, name="x", scopes=["nope"]
        ),
        InvalidParams,
    )
    no_doc = NewPlugin(name="p", kind="openapi", openapi=OpenAPISource())
    await log.none(lambda uow: create_plugin(uow, owner, log.context, no_doc), InvalidParams)
    async with log.database.unit_of_work() as uow:
        bot = await bots.create_bot(
            uow, owner, space, BotConfig(name="b", model=ModelSettings(model_id="scripted/echo"))
        )
    await log.none(lambda uow: bots.publish_bot(uow, viewer, bot.id, ["1024"]), Forbidden)
    await log.none(lambda uow: bots.unpublish_bot(uow, owner, bot.id), InvalidParams)  # never published

    async def made_then_failed(uow: UnitOfWork) -> None:
        await access.create_key(uow, _actor(log), workspace_id=space, user_id=owner.user_id, name="lost")
        raise RuntimeError("the request failed after the key was made")

    await log.none(made_then_failed, RuntimeError)
    async with log.database.unit_of_work() as uow:
        assert [key.name for key in await access.list_keys(uow, space)] == []  # neither the key nor its row


async def test_a_detail_that_could_hold_a_secret_is_refused(log: Log) -> None:
    async with log.database.unit_of_work() as uow:
        for detail in ({"token": "x"}, {"api_key": "x"}, {"client_secret": "x"}, {"Authorization": "x"}):
            with pytest.raises(ValueError, match="names a secret"):
                audit.record(uow, _actor(log), "api_key.create", None, ("api_key", "1"), **detail)
        with pytest.raises(ValueError, match="short scalars"):
            audit.record(uow, _actor(log), "api_key.create", None, ("api_key", "1"), headers={"a": "b"})  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="short scalars"):
            audit.record(uow, _actor(log), "api_key.create", None, ("api_key", "1"), name="x" * 1000)
        with pytest.raises(ValueError, match="unknown audit action"):
            audit.record(uow, _actor(log), "key.create", None, ("api_key", "1"))


async def test_the_secret_key_rotation_is_an_instance_wide_row(database_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    rotation = await rotate_secret_key(settings)
    database = Database(database_url)
    try:
        async with database.unit_of_work() as uow:
            page = await instance_events(uow, AuditFilter(action="secrets"))
    finally:
        await database.dispose()
    (event,) = page.items
    assert (event.workspace_id, event.actor_user_id, event.actor_key_id) == (None, None, audit.CLI)
    assert event.detail == {"rotated": 0, "current": 0, "retired_keys": rotation.retired_keys, "undecryptable": 0}


async def test_only_owners_and_admins_read_their_workspace_and_filters_select(log: Log) -> None:
    owner, space = log.owner, log.owner.workspace_id
    for name in ("a", "b", "c"):
        await log.one(
            lambda uow, name=name: access.create_key(
                uow, _actor(log), workspace_id=space, user_id=owner.user_id, name=name
            )
        )
    async with log.database.unit_of_work() as uow:
        admin = await access.bootstrap(uow)
        other = await access.find_or_create_workspace(uow, audit.Actor(admin.id, audit.CLI), admin, "Other")
        await access.create_key(
            uow, audit.Actor(admin.id, audit.CLI), workspace_id=other.id, user_id=admin.id, name="z"
        )
    async with log.database.unit_of_work() as uow:
        for role in ("viewer", "member"):
            reader = Principal(key_id=KEY_ID, user_id=owner.user_id, workspace_id=space, role=role)
            with pytest.raises(Forbidden):
                await workspace_events(uow, reader, AuditFilter())
        admin_reader = Principal(key_id=KEY_ID, user_id=owner.user_id, workspace_id=space, role="admin")
        page = await workspace_events(uow, admin_reader, AuditFilter(), page_size=2)
        assert (page.total, page.has_more) == (4, True)  # the first start's workspace.create, three keys
        assert [event.detail.get("name") for event in page.items] == ["c", "b"]  # newest first
        assert {event.workspace_id for event in page.items} == {space}
        keys = await workspace_events(uow, owner, AuditFilter(action="api_key"))
        assert [event.detail["name"] for event in keys.items] == ["c", "b", "a"]
        assert (await workspace_events(uow, owner, AuditFilter(action="api_key."))).total == 3
        assert (await workspace_events(uow, owner, AuditFilter(action="api_key.create"))).total == 3
        assert (await workspace_events(uow, owner, AuditFilter(actor=audit.SYSTEM))).total == 1
        assert (await workspace_events(uow, owner, AuditFilter(actor=owner.user_id))).total == 3
        assert (await workspace_events(uow, owner, AuditFilter(actor=KEY_ID, action="workspace"))).total == 0
        newest = keys.items[0].at
        assert (await workspace_events(uow, owner, AuditFilter(since=newest + 1))).total == 0
        assert (await workspace_events(uow, owner, AuditFilter(until=newest, since=newest - 3600))).total == 4
        assert (await instance_events(uow, AuditFilter(actor=audit.CLI))).total == 2  # Other's workspace and key
        past = await workspace_events(uow, owner, AuditFilter(), page_num=10**22)
        assert (past.items, past.total) == ([], 4)
        for bad in (
            AuditFilter(action="api"),
            AuditFilter(action="API_KEY"),
            AuditFilter(action="api_key.create.x"),
            AuditFilter(action="%"),
            AuditFilter(actor=""),
            AuditFilter(actor="x" * 65),
            AuditFilter(actor="a\x00b"),  # PostgreSQL takes no NUL in text: refused before any query
            AuditFilter(actor="1 OR 1=1"),
            AuditFilter(since=-1),
            AuditFilter(since=10, until=5),
        ):
            with pytest.raises(InvalidParams):
                await workspace_events(uow, owner, bad)
