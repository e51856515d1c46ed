"""The chat runner against a real SQLite database: a deferred chat is written by its run, and a server that
stops cancels what still runs, keeping what it had said."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from plait.models.registry import ProviderConfig, default_registry
from plait.platform import bots
from plait.platform.access import Principal, bootstrap, user_workspaces
from plait.platform.bot_config import BotConfig, ModelSettings
from plait.platform.chat import service as chats
from plait.platform.chat.runner import ChatRunner
from plait.platform.conversations import NewMessage, create_conversation
from plait.platform.providers import WorkspaceModels
from plait.store import Database, UnitOfWork, upgrade
from plait.store.crypto import SecretBox
from plait.store.tables import Chat


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[ChatRunner, UnitOfWork, Principal, str, str]]:
    default_registry().add_provider(
        ProviderConfig(name="runnerslow", kind="scripted", models=("echo",), default_options={"token_delay": 0.02})
    )
    url = f"sqlite+aiosqlite:///{tmp_path}/plait.db"
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    async with database.unit_of_work() as uow:
        admin = await bootstrap(uow)
        workspace, _ = (await user_workspaces(uow, admin.id))[0]
        owner = Principal(key_id="", user_id=admin.id, workspace_id=workspace.id, role="owner")
        bot = await bots.create_bot(
            uow, owner, workspace.id, BotConfig(name="b", model=ModelSettings(model_id="runnerslow/echo"))
        )
        await bots.publish_bot(uow, owner, bot.id, ["1024"])
        conversation = await create_conversation(
            uow, owner, bot_id=bot.id, name=None, meta_data={}, connector_id=None, messages=[]
        )
    runner = ChatRunner(database, models=WorkspaceModels(database, SecretBox(bytes(32))))
    try:
        yield runner, database.unit_of_work(), owner, bot.id, conversation.id
    finally:
        await runner.aclose()
        await database.dispose()
        default_registry().remove_provider("runnerslow")


def _request(bot_id: str, conversation_id: str, text: str, *, defer: bool) -> chats.ChatRequest:
    question = NewMessage(role="user", content=text, content_type="text", meta_data={})
    return chats.ChatRequest(
        bot_id=bot_id, conversation_id=conversation_id, user_id="u", messages=[question], defer=defer
    )


async def _stored(
    uow: UnitOfWork, principal: Principal, conversation_id: str, chat_id: str
) -> tuple[Chat | None, list[str]]:
    async with uow:
        chat = await uow.chats.find(principal.workspace_id, conversation_id, chat_id)
        messages = await uow.messages.for_chat(principal.workspace_id, conversation_id, chat_id)
        return chat, [f"{m.type}:{m.content}" for m in messages]


async def test_a_deferred_chat_is_written_whole_by_its_run(
    world: tuple[ChatRunner, UnitOfWork, Principal, str, str],
) -> None:
    runner, uow, owner, bot_id, conversation_id = world
    async with uow:
        run = await chats.start_chat(uow, owner, runner, _request(bot_id, conversation_id, "one two", defer=True))
    chat, _ = await _stored(uow, owner, conversation_id, run.chat.id)
    assert chat is None  # nothing written yet: the request committed no chat, the run saves it at its end
    assert run.task is not None
    await run.task
    chat, messages = await _stored(uow, owner, conversation_id, run.chat.id)
    assert chat is not None and chat.status == "completed" and chat.usage is not None
    assert messages == ["question:one two", "answer:one two"]


async def test_stopping_the_runner_cancels_and_keeps_the_partial_answer(
    world: tuple[ChatRunner, UnitOfWork, Principal, str, str],
) -> None:
    runner, uow, owner, bot_id, conversation_id = world
    words = " ".join(f"w{i}" for i in range(100))  # 2 s of streaming
    async with uow:
        first = await chats.start_chat(uow, owner, runner, _request(bot_id, conversation_id, words, defer=True))
    async with uow:
        second = await chats.start_chat(uow, owner, runner, _request(bot_id, conversation_id, words, defer=False))
    await asyncio.sleep(0.3)
    await runner.aclose()
    for run in (first, second):
        chat, messages = await _stored(uow, owner, conversation_id, run.chat.id)
        assert chat is not None and chat.status == "canceled"
        assert messages[0] == f"question:{words}"
        partial = messages[1].removeprefix("answer:").split()
        assert 0 < len(partial) < 100 and partial == words.split()[: len(partial)]
