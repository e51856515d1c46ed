"""Plugins as use cases over a real database (SQLite and PostgreSQL): secrets stored encrypted and replaced on
update, an MCP server kept open across chats and restarted when its plugin changes, bots bound to plugins."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from plait.platform import Forbidden, InvalidParams
from plait.platform.access import Principal, bootstrap, user_workspaces
from plait.platform.bot_config import PluginApi
from plait.platform.plugin_tools import PluginTools
from plait.platform.plugins import (
    AuthSettings,
    McpSource,
    NewPlugin,
    OpenAPISource,
    PluginChange,
    PluginContext,
    create_plugin,
    delete_plugin,
    update_plugin,
)
from plait.store import Database
from plait.store.crypto import SecretBox

ECHO_SERVER = Path(__file__).resolve().parents[1] / "tools" / "mcp_echo_server.py"
DOCUMENT = """
openapi: 3.0.3
info: {title: Pets, version: "1"}
servers: [{url: "https://pets.example"}]
paths:
  /pets:
    get: {operationId: list_pets, summary: List the pets, responses: {"200": {description: ok}}}
"""


@dataclass(slots=True)
class World:
    database: Database
    context: PluginContext
    owner: Principal

    def as_role(self, role: str) -> Principal:
        return Principal(key_id="", user_id=self.owner.user_id, workspace_id=self.owner.workspace_id, role=role)


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    database = Database(database_url)
    box = SecretBox(os.urandom(32))
    tools = PluginTools(database, box)
    async with database.unit_of_work() as uow:
        admin = await bootstrap(uow)
        workspace, _ = (await user_workspaces(uow, admin.id))[0]
    owner = Principal(key_id="", user_id=admin.id, workspace_id=workspace.id, role="owner")
    try:
        yield World(database, PluginContext(box=box, tools=tools, data_dir=tmp_path), owner)
    finally:
        await tools.aclose()
        await database.dispose()


def _echo(name: str = "echo") -> NewPlugin:
    source = McpSource(transport="stdio", command=sys.executable, args=(str(ECHO_SERVER), "stdio"))
    return NewPlugin(name=name, kind="mcp", mcp=source)


async def test_the_secret_is_stored_encrypted_and_replaced_on_update(world: World) -> None:
    auth = AuthSettings(kind="bearer", secret="tok-1234567890")
    new = NewPlugin(name="pets", kind="openapi", openapi=OpenAPISource(document=DOCUMENT), auth=auth)
    async with world.database.unit_of_work() as uow:
        record = await create_plugin(uow, world.owner, world.context, new)
    assert [o.name for o in record.operations] == ["list_pets"] and record.auth.has_secret
    async with world.database.unit_of_work() as uow:
        row = await uow.plugins.get(world.owner.workspace_id, record.id)
        assert row is not None and row.encrypted_secret is not None and b"tok-1234567890" not in row.encrypted_secret
        first = row.encrypted_secret
        change = PluginChange(auth=AuthSettings(kind="bearer", secret="tok-new"))
        updated = await update_plugin(uow, world.owner, world.context, record.id, change)
    async with world.database.unit_of_work() as uow:
        row = await uow.plugins.get(world.owner.workspace_id, record.id)
        assert row is not None and row.encrypted_secret not in (None, first) and row.revision == 2
        assert world.context.box.decrypt(row.encrypted_secret or b"", context=row.id) == "tok-new"
    assert updated.auth.has_secret


async def test_an_mcp_server_stays_open_across_chats_until_its_plugin_changes(world: World) -> None:
    async with world.database.unit_of_work() as uow:
        record = await create_plugin(uow, world.owner, world.context, _echo())
    binding = [PluginApi(plugin_id=record.id, api_id="pid")]
    tools = world.context.tools
    (first,) = await tools.for_bot(world.owner.workspace_id, binding)
    pid = await first.call({})
    (again,) = await tools.for_bot(world.owner.workspace_id, binding)
    assert await again.call({}) == pid  # the same server process serves the next chat
    async with world.database.unit_of_work() as uow:
        await update_plugin(uow, world.owner, world.context, record.id, PluginChange(description="changed"))
    (changed,) = await tools.for_bot(world.owner.workspace_id, binding)
    assert await changed.call({}) != pid  # a new revision: a new server
    assert await tools.for_bot(world.owner.workspace_id, binding, taken={"pid"}) == []


async def test_only_admins_start_commands_and_a_deleted_plugin_is_gone(world: World) -> None:
    async with world.database.unit_of_work() as uow:
        with pytest.raises(Forbidden, match="owner or admin"):
            await create_plugin(uow, world.as_role("member"), world.context, _echo("by member"))
        with pytest.raises(InvalidParams, match="give exactly one"):
            await create_plugin(
                uow, world.owner, world.context, NewPlugin(name="x", kind="openapi", openapi=OpenAPISource())
            )
        record = await create_plugin(uow, world.owner, world.context, _echo("to delete"))
    async with world.database.unit_of_work() as uow:
        await delete_plugin(uow, world.owner, world.context.tools, record.id)
    binding = [PluginApi(plugin_id=record.id, api_id="pid")]
    assert await world.context.tools.for_bot(world.owner.workspace_id, binding) == []
