"""User sessions on SQLite and PostgreSQL: chats open and count a session, the heartbeat's sweep moves a quiet
one to idle and deletes an expired one, and the list reads them per bot and user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from platform_fixtures import workspace_owner

from plait.platform import NotFound, bots
from plait.platform.access import Principal
from plait.platform.bot_config import BotConfig, ModelSettings
from plait.platform.conversations import create_conversation
from plait.platform.memory.sessions import Sessions
from plait.store import Database
from plait.store.base import now


@dataclass
class World:
    database: Database
    owner: Principal
    bot_id: str
    conversation_id: str


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    url = database_url
    database = Database(url)
    async with database.unit_of_work() as uow:
        owner = await workspace_owner(uow)
        bot = await bots.create_bot(
            uow, owner, owner.workspace_id, BotConfig(name="b", model=ModelSettings(model_id="scripted/echo"))
        )
        conversation = await create_conversation(
            uow, owner, bot_id=bot.id, name=None, meta_data={}, connector_id=None, messages=[]
        )
    try:
        yield World(database, owner, bot.id, conversation.id)
    finally:
        await database.dispose()


async def _touch(world: World, user_id: str, at: int) -> None:
    async with world.database.unit_of_work() as uow:
        await uow.user_sessions.touch(world.owner.workspace_id, world.bot_id, user_id, world.conversation_id, at, 1)


async def test_chats_count_into_one_session_per_user_and_bot(world: World) -> None:
    sessions = Sessions(world.database, idle_seconds=100, expire_seconds=1000)
    sessions.throttle = 0  # every chat writes
    for _ in range(3):
        await sessions.chatted(world.owner.workspace_id, world.bot_id, "ann", world.conversation_id)
    await sessions.chatted(world.owner.workspace_id, world.bot_id, "bob", world.conversation_id)
    async with world.database.unit_of_work() as uow:
        listed = await sessions.of(uow, world.owner, world.bot_id, None)
        (ann,) = await sessions.of(uow, world.owner, world.bot_id, "ann")
    assert sorted(s.user_id for s in listed) == ["ann", "bob"]
    assert ann.status == "active" and ann.chat_count == 3 and ann.last_conversation_id == world.conversation_id
    assert ann.expires_at == ann.last_active_at + 1000


async def test_throttled_chats_are_added_to_the_next_write(world: World) -> None:
    sessions = Sessions(world.database, idle_seconds=100, expire_seconds=1000)
    for _ in range(3):  # the first writes, the next two wait for the throttle
        await sessions.chatted(world.owner.workspace_id, world.bot_id, "ann", world.conversation_id)
    sessions.throttle = 0
    await sessions.chatted(world.owner.workspace_id, world.bot_id, "ann", world.conversation_id)
    async with world.database.unit_of_work() as uow:
        (ann,) = await sessions.of(uow, world.owner, world.bot_id, "ann")
    assert ann.chat_count == 4


async def test_the_sweep_idles_quiet_sessions_and_deletes_expired_ones(world: World) -> None:
    sessions = Sessions(world.database, idle_seconds=50, expire_seconds=200)
    await _touch(world, "quiet", now() - 100)
    await _touch(world, "gone", now() - 300)
    await _touch(world, "busy", now())
    assert await sessions.sweep() == (2, 1)  # "gone" went idle, then expired
    assert await sessions.sweep() == (0, 0)  # not again before a quarter of the idle timeout
    async with world.database.unit_of_work() as uow:
        listed = {s.user_id: s.status for s in await sessions.of(uow, world.owner, world.bot_id, None)}
    assert listed == {"busy": "active", "quiet": "idle"}
    await _touch(world, "quiet", now())  # a chat wakes an idle session
    async with world.database.unit_of_work() as uow:
        (quiet,) = await sessions.of(uow, world.owner, world.bot_id, "quiet")
    assert quiet.status == "active" and quiet.chat_count == 2


async def test_sessions_of_an_unknown_bot_are_not_found(world: World) -> None:
    sessions = Sessions(world.database, idle_seconds=50, expire_seconds=200)
    async with world.database.unit_of_work() as uow:
        with pytest.raises(NotFound):
            await sessions.of(uow, world.owner, "nobot", None)
