"""A chat's state holds against races, dead workers and a database that fails, on SQLite and PostgreSQL:
two submits start one run, a canceled chat stays canceled, a chat of a dead worker is failed, and a run whose
last save fails still ends its event log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from platform_fixtures import workspace_owner
from sqlalchemy import text

from plait.models.registry import ProviderConfig, default_registry
from plait.platform import InvalidParams, bots
from plait.platform.access import Principal
from plait.platform.bot_config import BotConfig, ModelSettings
from plait.platform.chat import service
from plait.platform.chat.events import ChatFailed, RunEnded
from plait.platform.chat.runner import ChatRunner
from plait.platform.conversations import NewMessage
from plait.platform.errors import ChatNotCancelable
from plait.platform.presence import Presence
from plait.platform.providers import WorkspaceModels
from plait.schema import ToolSpec
from plait.store import Database, UnitOfWork, new_id
from plait.store.crypto import SecretBox

CLIENT_TOOL = ToolSpec(name="lookup", description="Look a word up.", parameters={"type": "object"})


@dataclass
class World:
    database: Database
    runner: ChatRunner
    owner: Principal
    bot_id: str
    url: str

    def uow(self) -> UnitOfWork:
        return self.database.unit_of_work()


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    url = database_url
    database = Database(url)
    async with database.unit_of_work() as uow:
        owner = await workspace_owner(uow)
        bot = await bots.create_bot(
            uow,
            owner,
            owner.workspace_id,
            BotConfig(name="b", model=ModelSettings(model_id="scripted/tools"), tools=(CLIENT_TOOL,)),
        )
        await bots.publish_bot(uow, owner, bot.id, ["1024"])
    runner = ChatRunner(database, models=WorkspaceModels(database, SecretBox(bytes(32))), instance="tester")
    try:
        yield World(database, runner, owner, bot.id, url)
    finally:
        await runner.aclose()
        await database.dispose()


def _ask(world: World, text: str, conversation_id: str | None = None) -> service.ChatRequest:
    question = NewMessage(role="user", content=text, content_type="text", meta_data={})
    return service.ChatRequest(bot_id=world.bot_id, conversation_id=conversation_id, user_id="u", messages=[question])


async def _paused(world: World) -> tuple[str, str, str]:
    """A chat waiting for the client's ``lookup`` output: conversation, chat and call ids."""
    async with world.uow() as uow:
        run = await service.start_chat(uow, world.owner, world.runner, _ask(world, 'call lookup {"word": "x"}'))
    assert run.task is not None
    await run.task
    state = run.state
    assert state.status == "requires_action" and state.pending is not None
    return state.conversation_id, state.id, state.pending.calls[0].id


async def test_two_concurrent_submits_start_one_run(world: World) -> None:
    conversation_id, chat_id, call_id = await _paused(world)

    async def submit() -> object:
        async with world.uow() as uow:
            return await service.resume_chat(
                uow, world.owner, world.runner, conversation_id, chat_id, {call_id: "found"}
            )

    outcomes = await asyncio.gather(submit(), submit(), return_exceptions=True)
    runs = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(runs) == 1, outcomes
    assert len(refused) == 1 and isinstance(refused[0], InvalidParams)
    async with world.uow() as uow:
        outputs = await uow.messages.for_chat(world.owner.workspace_id, conversation_id, chat_id)
    assert [m.type for m in outputs].count("tool_output") == 1


async def test_a_canceled_chat_cannot_be_resumed(world: World) -> None:
    conversation_id, chat_id, call_id = await _paused(world)
    async with world.uow() as uow:
        canceled = await service.cancel_chat(uow, world.owner, world.runner, conversation_id, chat_id)
    assert canceled.status == "canceled" and canceled.pending is None
    with pytest.raises(InvalidParams, match="not waiting for tool outputs"):
        async with world.uow() as uow:
            await service.resume_chat(uow, world.owner, world.runner, conversation_id, chat_id, {call_id: "late"})
    with pytest.raises(ChatNotCancelable):
        async with world.uow() as uow:
            await service.cancel_chat(uow, world.owner, world.runner, conversation_id, chat_id)


async def test_the_chats_of_a_dead_worker_fail_with_a_reason(world: World) -> None:
    dead = Presence(world.database, heartbeat_seconds=60, stale_after_seconds=30)
    await dead.start(keep_beating=False)
    models = WorkspaceModels(world.database, SecretBox(bytes(32)))
    orphan = ChatRunner(world.database, models=models, instance=dead.instance)
    async with world.uow() as uow:
        run = await service.start_chat(uow, world.owner, orphan, _ask(world, " ".join(["w"] * 50)))
    assert run.task is not None
    run.task.cancel()  # the process "dies"; below, its chat is put back as a kill would have left it
    await asyncio.gather(run.task, return_exceptions=True)
    async with world.uow() as uow:  # what the kill left: the chat in progress under the dead instance
        await uow.chats.update(world.owner.workspace_id, run.chat.id, status="in_progress")
        await uow.workers.beat(dead.instance, 0)  # and a heartbeat long ago
    alive = Presence(world.database, heartbeat_seconds=60, stale_after_seconds=30)
    await alive.start(keep_beating=False)  # a restart sweeps at once
    try:
        async with world.uow() as uow:
            chat = await service.get_chat(uow, world.owner, world.runner, run.chat.conversation_id, run.chat.id)
        assert chat.status == "failed" and chat.failed_at is not None
        assert chat.last_error is not None and "stopped before it finished" in chat.last_error.msg
    finally:
        await alive.aclose()


async def test_worker_slots_are_distinct_and_rebind_the_id_generator(world: World) -> None:
    first = Presence(world.database, heartbeat_seconds=60, stale_after_seconds=30)
    second = Presence(world.database, heartbeat_seconds=60, stale_after_seconds=30)
    await first.start(keep_beating=False)
    await second.start(keep_beating=False)
    try:
        assert first.slot is not None and second.slot is not None and first.slot != second.slot
        assert new_id.worker == second.slot  # the latest claim of this process rebinds its generator
        assert (int(new_id()) >> 12) & 1023 == second.slot
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_run_whose_last_save_fails_still_ends_its_log(world: World) -> None:
    async with world.uow() as uow:  # a database that refuses every change of a chat's status
        if "sqlite" in world.url:
            trigger = (
                "CREATE TRIGGER refuse BEFORE UPDATE OF status ON chats BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
            )
            await uow.session.execute(text(trigger))
        else:
            await uow.session.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$"
                )
            )
            await uow.session.execute(
                text("CREATE TRIGGER refuse BEFORE UPDATE OF status ON chats FOR EACH ROW EXECUTE FUNCTION refuse()")
            )
    async with world.uow() as uow:
        run = await service.start_chat(uow, world.owner, world.runner, _ask(world, "hello there"))
    events = [event async for event in run.log.follow()]  # ends: a stream following it would end too
    assert isinstance(events[-1], RunEnded)
    assert isinstance(events[-2], ChatFailed)
    assert events[-2].chat.last_error is not None


async def test_a_cancel_received_by_another_worker_stops_the_run(world: World) -> None:
    models = WorkspaceModels(world.database, SecretBox(bytes(32)))
    other = ChatRunner(world.database, models=models, instance="other worker")  # runs nothing here
    slow = BotConfig(name="slow", model=ModelSettings(model_id="statetests/echo"))
    default_registry().add_provider(
        ProviderConfig(name="statetests", kind="scripted", models=("echo",), default_options={"token_delay": 0.05})
    )
    try:
        async with world.uow() as uow:
            bot = await bots.create_bot(uow, world.owner, world.owner.workspace_id, slow)
            await bots.publish_bot(uow, world.owner, bot.id, ["1024"])
        question = service.ChatRequest(
            bot_id=bot.id,
            conversation_id=None,
            user_id="u",
            messages=[NewMessage(role="user", content=" ".join(["w"] * 200), content_type="text", meta_data={})],
        )
        async with world.uow() as uow:
            run = await service.start_chat(uow, world.owner, world.runner, question)
        await asyncio.sleep(0.2)  # a few words streamed
        async with world.uow() as uow:
            canceled = await service.cancel_chat(uow, world.owner, other, run.chat.conversation_id, run.chat.id)
        assert canceled.status == "canceled"
        assert run.task is not None and not run.task.done()  # the cancel reached only the database
        await world.runner.reconcile()  # what the runner's worker does at its next heartbeat
        await asyncio.wait_for(asyncio.gather(run.task, return_exceptions=True), 5)
        assert run.log.closed  # its stream ended too
        async with world.uow() as uow:
            chat = await service.get_chat(uow, world.owner, world.runner, run.chat.conversation_id, run.chat.id)
        assert chat.status == "canceled"
    finally:
        default_registry().remove_provider("statetests")
