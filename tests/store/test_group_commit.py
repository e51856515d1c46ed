"""The group commit writer on SQLite and PostgreSQL: saves made together share a transaction, each returns once
its rows are committed, a save the database refuses fails alone, a conditional update gates its rows, and a
cancelled caller learns of the cancel only after its save's fate is settled."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from plait.store import ConflictError, UnitOfWork, new_id
from plait.store.group_commit import GroupWriter, Save
from plait.store.repositories.conversations import settle_chat
from plait.store.tables import Bot, Chat, Conversation, Message, User, Workspace

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Place:
    workspace_id: str
    conversation_id: str


@pytest.fixture
async def place(sessions: Sessions) -> Place:
    async with UnitOfWork(sessions) as uow:
        user = await uow.users.add(User(name="ada"))
        workspace = await uow.workspaces.add(Workspace(name="A"), owner_id=user.id)
        bot = await uow.bots.add(Bot(workspace_id=workspace.id, name="bot", prompt={}))
        conversation = await uow.conversations.add(Conversation(workspace_id=workspace.id, bot_id=bot.id))
        return Place(workspace.id, conversation.id)


@pytest.fixture
def writer(engine: AsyncEngine, sessions: Sessions) -> GroupWriter:
    return GroupWriter(engine, getattr(sessions.class_, "write_lock", None))


def _message(place: Place, content: str, *, conversation_id: str | None = None) -> Message:
    return Message(
        id=new_id(),
        workspace_id=place.workspace_id,
        conversation_id=conversation_id or place.conversation_id,
        role="assistant",
        type="answer",
        content=content,
        content_type="text",
        meta_data={},
        created_at=1,
        updated_at=1,
    )


def _chat(place: Place, status: str = "in_progress") -> Chat:
    return Chat(
        id=new_id(),
        workspace_id=place.workspace_id,
        conversation_id=place.conversation_id,
        status=status,
        meta_data={},
        created_at=1,
        updated_at=1,
    )


async def _contents(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        return sorted((await session.execute(select(Message.content))).scalars())


async def test_saves_made_together_share_one_transaction_and_are_in_once_awaited(
    engine: AsyncEngine, sessions: Sessions, writer: GroupWriter, place: Place
) -> None:
    commits: list[int] = []
    event.listen(engine.sync_engine, "commit", lambda _connection: commits.append(1))

    async def save(index: int) -> list[str]:
        chat = _chat(place)
        await writer.save(Save(rows=[chat, _message(place, f"q{index}"), _message(place, f"a{index}")]))
        return await _contents(sessions)  # read by another connection: committed

    seen = await asyncio.gather(*(save(index) for index in range(20)))
    for index, contents in enumerate(seen):
        assert {f"q{index}", f"a{index}"} <= set(contents)
    assert len(await _contents(sessions)) == 40
    assert 1 <= len(commits) < 20  # the 20 saves queued before the first commit: one or two transactions
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Chat))).scalar() == 20


async def test_a_save_the_database_refuses_fails_alone(sessions: Sessions, writer: GroupWriter, place: Place) -> None:
    good = [writer.save(Save(rows=[_message(place, f"good {index}")])) for index in range(3)]
    bad = writer.save(Save(rows=[_message(place, "orphan", conversation_id="no-such-conversation")]))
    outcomes = await asyncio.gather(good[0], bad, good[1], good[2], return_exceptions=True)
    assert outcomes[0] is True and outcomes[2] is True and outcomes[3] is True
    assert isinstance(outcomes[1], ConflictError)
    assert await _contents(sessions) == ["good 0", "good 1", "good 2"]


async def test_parent_rows_go_in_before_their_children_whatever_the_order_of_saves(
    engine: AsyncEngine, sessions: Sessions, writer: GroupWriter, place: Place
) -> None:
    commits: list[int] = []
    event.listen(engine.sync_engine, "commit", lambda _connection: commits.append(1))
    conversation = Conversation(id=new_id(), workspace_id=place.workspace_id, meta_data={}, created_at=1, updated_at=1)
    first = writer.save(Save(rows=[_message(place, "in the old conversation")]))
    second = writer.save(Save(rows=[conversation, _message(place, "in the new one", conversation_id=conversation.id)]))
    assert await asyncio.gather(first, second) == [True, True]
    assert await _contents(sessions) == ["in the new one", "in the old conversation"]
    assert len(commits) == 1  # one transaction that took both, not a refused one and two more


async def test_a_conditional_update_gates_the_rows_of_its_save(
    sessions: Sessions, writer: GroupWriter, place: Place
) -> None:
    running, ended = _chat(place), _chat(place, status="completed")
    await writer.save(Save(rows=[running, ended]))
    saves = []
    for chat in (running, ended):
        update, params = settle_chat(place.workspace_id, chat.id, status="canceled")
        rows = [_message(place, f"partial of {chat.status}")]
        saves.append(writer.save(Save(rows=rows, update=update, params=params, rows_if_updated=True)))
    assert await asyncio.gather(*saves) == [True, False]
    assert await _contents(sessions) == ["partial of in_progress"]
    async with sessions() as session:
        statuses = {row.id: row.status for row in await session.execute(select(Chat.id, Chat.status))}
    assert statuses == {running.id: "canceled", ended.id: "completed"}


async def test_a_cancelled_caller_sees_the_cancel_once_its_save_is_settled(
    sessions: Sessions, writer: GroupWriter, place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    go = asyncio.Event()
    write = writer._write

    async def held_back(saves: list[Save]) -> list[bool]:  # a commit that takes a while
        await go.wait()
        return await write(saves)

    monkeypatch.setattr(writer, "_write", held_back)
    saving = asyncio.create_task(writer.save(Save(rows=[_message(place, "kept")])))
    await asyncio.sleep(0.01)  # queued, and the writer has taken it
    saving.cancel()
    asyncio.get_running_loop().call_later(0.05, go.set)
    with pytest.raises(asyncio.CancelledError):
        await saving
    assert await _contents(sessions) == ["kept"]  # already committed when the cancel surfaced
