"""Caches forget a record when its change commits (SQLite and PostgreSQL): a revoked key is refused at once
despite a long TTL, a provider change expires the workspace's registry, a bot's change drops its published
version; a rolled-back change tells nothing. Over Redis, a change sent by one relay is forgotten by another."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from platform_fixtures import workspace_owner

from plait.platform import Unauthorized, caches
from plait.platform.access import PrincipalCache
from plait.platform.providers import WorkspaceModels
from plait.store import Database, new_id
from plait.store.base import now
from plait.store.changes import Change
from plait.store.crypto import SecretBox
from plait.store.repositories.access import hash_token
from plait.store.tables import ApiKey, ModelConfig


@dataclass(slots=True, weakref_slot=True, eq=False)
class Heard:
    """A cache that only notes what it is told to forget (held weakly, like every registered cache)."""

    forgotten: list[Change] = field(default_factory=list)

    def forget(self, topic: str, key: str) -> None:
        self.forgotten.append((topic, key))


@dataclass(slots=True)
class World:
    database: Database
    workspace_id: str
    user_id: str
    heard: Heard


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    database = Database(database_url)
    async with database.unit_of_work() as uow:
        owner = await workspace_owner(uow)
    heard = Heard()
    caches.register(heard)
    try:
        yield World(database, owner.workspace_id, owner.user_id, heard)
    finally:
        await database.dispose()


async def _key(world: World) -> tuple[str, str]:
    token = f"pat_{new_id()}"
    key = ApiKey(
        workspace_id=world.workspace_id,
        user_id=world.user_id,
        name="k",
        token_hash=hash_token(token),
        prefix=token[:12],
        scopes=[],
    )
    async with world.database.unit_of_work() as uow:
        await uow.api_keys.add(key)
    return key.id, token


async def test_a_revoked_key_is_refused_at_once_despite_the_ttl(world: World) -> None:
    key_id, token = await _key(world)
    cache = PrincipalCache(ttl=300)
    async with world.database.unit_of_work() as uow:
        assert (await cache.authenticate(uow, token)).key_id == key_id
    async with world.database.unit_of_work() as uow:
        await uow.api_keys.update(world.workspace_id, key_id, revoked_at=now())
    assert ("api_key", key_id) in world.heard.forgotten
    async with world.database.unit_of_work() as uow:
        with pytest.raises(Unauthorized):
            await cache.authenticate(uow, token)


async def test_a_rolled_back_change_tells_nothing(world: World) -> None:
    key_id, _ = await _key(world)
    world.heard.forgotten.clear()
    with pytest.raises(RuntimeError):
        async with world.database.unit_of_work() as uow:
            await uow.api_keys.update(world.workspace_id, key_id, revoked_at=now())
            raise RuntimeError("the request failed")
    assert world.heard.forgotten == []


async def test_a_provider_set_or_deleted_expires_the_workspaces_registry(world: World) -> None:
    models = WorkspaceModels(world.database, SecretBox(os.urandom(32)))
    try:
        before = await models.registry(world.workspace_id)
        row = ModelConfig(id=new_id(), workspace_id=world.workspace_id, name="mine", provider="openai_compat")
        row.model, row.base_url = "m1", "http://127.0.0.1:9/v1"
        async with world.database.unit_of_work() as uow:
            uow.add_new(row)
        assert ("providers", world.workspace_id) in world.heard.forgotten
        after = await models.registry(world.workspace_id)  # within CACHE_SECONDS: read again all the same
        assert after is not before and "mine/m1" in after.known_models()
        world.heard.forgotten.clear()
        async with world.database.unit_of_work() as uow:
            assert await uow.model_configs.delete(world.workspace_id, row.id)  # one DELETE statement
        assert world.heard.forgotten == [("providers", world.workspace_id)]
        assert "mine/m1" not in (await models.registry(world.workspace_id)).known_models()
    finally:
        await models.aclose()
