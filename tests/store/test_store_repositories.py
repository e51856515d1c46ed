"""Repositories against SQLite and PostgreSQL: workspace scoping, pages, cursors, cascades, the unit of work."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from plait.store import UnitOfWork
from plait.store.repositories import ScopedRepository, hash_token
from plait.store.tables import (
    ApiKey,
    Bot,
    BotVersion,
    Chat,
    Conversation,
    Dataset,
    DatasetDocument,
    File,
    Message,
    ModelConfig,
    Section,
    User,
    Workspace,
)

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Seed:
    """One row of every workspace-owned table, all in workspace ``a``; ``b`` is an empty second workspace."""

    a: str
    b: str
    rows: dict[str, str]  # repository attribute on the unit of work -> row id


async def _seed(sessions: Sessions) -> Seed:
    async with UnitOfWork(sessions) as uow:
        user = await uow.users.add(User(name="ada"))
        a = await uow.workspaces.add(Workspace(name="A"), owner_id=user.id)
        b = await uow.workspaces.add(Workspace(name="B"), owner_id=user.id)
        key = await uow.api_keys.add(
            ApiKey(workspace_id=a.id, user_id=user.id, name="k", token_hash=hash_token("pat_1"), prefix="pat_1")
        )
        model = await uow.model_configs.add(ModelConfig(workspace_id=a.id, name="m", provider="openai", model="x"))
        bot = await uow.bots.add(Bot(workspace_id=a.id, name="bot", prompt={"prompt": "hi"}))
        version = await uow.bot_versions.add(BotVersion(workspace_id=a.id, bot_id=bot.id, version="1", snapshot={}))
        conversation = await uow.conversations.add(Conversation(workspace_id=a.id, bot_id=bot.id))
        section = await uow.sections.add(Section(workspace_id=a.id, conversation_id=conversation.id))
        chat = await uow.chats.add(Chat(workspace_id=a.id, conversation_id=conversation.id, bot_id=bot.id))
        message = await uow.messages.add(
            Message(workspace_id=a.id, conversation_id=conversation.id, chat_id=chat.id, role="user", content="q")
        )
        file = await uow.files.add(File(workspace_id=a.id, name="f.txt", bytes=3, sha256="0" * 64, path="x"))
        dataset = await uow.datasets.add(Dataset(workspace_id=a.id, name="kb"))
        document = await uow.documents.add(DatasetDocument(workspace_id=a.id, dataset_id=dataset.id, name="d"))
        rows = {
            "api_keys": key.id,
            "model_configs": model.id,
            "bots": bot.id,
            "bot_versions": version.id,
            "conversations": conversation.id,
            "sections": section.id,
            "chats": chat.id,
            "messages": message.id,
            "files": file.id,
            "datasets": dataset.id,
            "documents": document.id,
        }
        return Seed(a=a.id, b=b.id, rows=rows)


REPOSITORIES = [
    "api_keys",
    "model_configs",
    "bots",
    "bot_versions",
    "conversations",
    "sections",
    "chats",
    "messages",
    "files",
    "datasets",
    "documents",
]


@pytest.mark.parametrize("name", REPOSITORIES)
async def test_another_workspace_cannot_see_update_or_delete_a_row(sessions: Sessions, name: str) -> None:
    seed = await _seed(sessions)
    row_id = seed.rows[name]
    async with UnitOfWork(sessions) as uow:
        repository: ScopedRepository[object] = getattr(uow, name)  # type: ignore[type-var]
        assert await repository.get(seed.b, row_id) is None
        assert await repository.update(seed.b, row_id, created_at=1) is None
        assert await repository.delete(seed.b, row_id) is False
        assert (await repository.page(seed.b)).total == 0
        assert (await repository.page(seed.a)).total == 1
        assert await repository.get(seed.a, row_id) is not None


async def test_aggregate_queries_are_scoped_too(sessions: Sessions) -> None:
    seed = await _seed(sessions)
    rows = seed.rows
    async with UnitOfWork(sessions) as uow:
        for workspace, expected in ((seed.a, 1), (seed.b, 0)):
            assert (await uow.bots.search(workspace)).total == expected
            assert (await uow.bot_versions.for_bot(workspace, rows["bots"])).total == expected
            assert (await uow.bot_versions.find(workspace, rows["bots"]) is not None) == bool(expected)
            assert (await uow.conversations.for_bot(workspace, rows["bots"])).total == expected
            window = await uow.messages.window(workspace, rows["conversations"])
            assert len(window.items) == expected
            assert len(await uow.messages.for_chat(workspace, rows["conversations"], rows["chats"])) == expected
            assert (await uow.chats.find(workspace, rows["conversations"], rows["chats"]) is not None) == bool(expected)
            assert (await uow.chats.for_conversation(workspace, rows["conversations"])).total == expected
            assert (await uow.files.find_by_sha256(workspace, "0" * 64) is not None) == bool(expected)
            assert (await uow.datasets.search(workspace, name="k")).total == expected
            assert (await uow.documents.for_dataset(workspace, rows["datasets"])).total == expected
            assert len(await uow.documents.many(workspace, [rows["documents"]])) == expected


async def test_number_pages(sessions: Sessions) -> None:
    seed = await _seed(sessions)
    async with UnitOfWork(sessions) as uow:
        for i in range(4):
            await uow.datasets.add(Dataset(workspace_id=seed.a, name=f"extra {i}", format_type=1))
    async with UnitOfWork(sessions) as uow:
        first = await uow.datasets.search(seed.a, page_num=1, page_size=2)
        last = await uow.datasets.search(seed.a, page_num=3, page_size=2)
        tables = await uow.datasets.search(seed.a, format_type=1, page_size=10)
        with pytest.raises(ValueError, match="page_size"):
            await uow.datasets.search(seed.a, page_size=0)
    assert (first.total, len(first.items), first.has_more) == (5, 2, True)
    assert (len(last.items), last.has_more) == (1, False)
    seen = {d.id for d in first.items} | {d.id for d in last.items}
    assert len(seen) == 3
    assert tables.total == 4


async def test_message_cursor_pages(sessions: Sessions) -> None:
    seed = await _seed(sessions)
    conversation = seed.rows["conversations"]
    async with UnitOfWork(sessions) as uow:
        for i in range(6):
            await uow.messages.add(
                Message(workspace_id=seed.a, conversation_id=conversation, role="assistant", content=str(i))
            )
    async with UnitOfWork(sessions) as uow:
        all_ids = [m.id for m in (await uow.messages.window(seed.a, conversation, order="asc", limit=50)).items]
        newest = await uow.messages.window(seed.a, conversation, limit=3)
        older = await uow.messages.window(seed.a, conversation, after_id=newest.last_id, limit=3)
        rest = await uow.messages.window(seed.a, conversation, after_id=older.last_id, limit=3)
        after = await uow.messages.window(seed.a, conversation, order="asc", after_id=all_ids[1], limit=2)
        before_desc = await uow.messages.window(seed.a, conversation, before_id=all_ids[3], limit=2)
        before_asc = await uow.messages.window(seed.a, conversation, order="asc", before_id=all_ids[3], limit=2)
        by_chat = await uow.messages.window(seed.a, conversation, chat_id=seed.rows["chats"])
    assert len(all_ids) == 7
    assert all_ids == sorted(all_ids)
    assert [m.id for m in newest.items] == all_ids[::-1][:3]
    assert (newest.first_id, newest.has_more) == (all_ids[-1], True)
    assert [m.id for m in older.items] == all_ids[::-1][3:6]
    assert ([m.id for m in rest.items], rest.has_more) == ([all_ids[0]], False)
    assert ([m.id for m in after.items], after.has_more) == (all_ids[2:4], True)
    assert ([m.id for m in before_desc.items], before_desc.has_more) == (all_ids[5:3:-1], True)
    assert ([m.id for m in before_asc.items], before_asc.has_more) == (all_ids[1:3], True)
    assert [m.id for m in by_chat.items] == [seed.rows["messages"]]


async def test_api_key_hash_is_unique_and_lookup_skips_revoked(sessions: Sessions) -> None:
    seed = await _seed(sessions)
    async with UnitOfWork(sessions) as uow:
        key = await uow.api_keys.find_active(hash_token("pat_1"), now=0)
        assert key is not None
        assert key.workspace_id == seed.a
        assert await uow.api_keys.find_active(hash_token("pat_2"), now=0) is None
    with pytest.raises(IntegrityError):
        async with UnitOfWork(sessions) as uow:
            await uow.api_keys.add(ApiKey(workspace_id=seed.b, name="dup", token_hash=hash_token("pat_1"), prefix="p"))
    async with UnitOfWork(sessions) as uow:
        await uow.api_keys.update(seed.a, seed.rows["api_keys"], revoked_at=10)
    async with UnitOfWork(sessions) as uow:
        assert await uow.api_keys.find_active(hash_token("pat_1"), now=0) is None


async def test_deleting_a_conversation_deletes_its_messages_sections_and_chats(sessions: Sessions) -> None:
    seed = await _seed(sessions)
    async with UnitOfWork(sessions) as uow:
        assert await uow.conversations.delete(seed.a, seed.rows["conversations"])
    async with UnitOfWork(sessions) as uow:
        for table in (Message, Chat, Section):
            assert (await uow.session.execute(select(table))).first() is None
        assert await uow.bots.get(seed.a, seed.rows["bots"]) is not None


async def test_deleting_a_workspace_deletes_what_it_owns(sessions: Sessions) -> None:
    seed = await _seed(sessions)
    async with UnitOfWork(sessions) as uow:
        assert await uow.workspaces.delete(seed.a)
    async with UnitOfWork(sessions) as uow:
        for table in (ApiKey, Bot, BotVersion, Conversation, Message, Dataset, DatasetDocument, File):
            assert (await uow.session.execute(select(table))).first() is None
        assert await uow.workspaces.get(seed.b) is not None


async def test_unit_of_work_rolls_back_on_exception(sessions: Sessions) -> None:
    seed = await _seed(sessions)
    with pytest.raises(RuntimeError, match="boom"):
        async with UnitOfWork(sessions) as uow:
            await uow.bots.add(Bot(workspace_id=seed.a, name="lost"))
            await uow.bots.update(seed.a, seed.rows["bots"], name="renamed")
            raise RuntimeError("boom")
    async with UnitOfWork(sessions) as uow:
        page = await uow.bots.search(seed.a)
    assert [bot.name for bot in page.items] == ["bot"]


async def test_memberships_and_roles(sessions: Sessions) -> None:
    seed = await _seed(sessions)
    async with UnitOfWork(sessions) as uow:
        user = await uow.users.get_by_name("ada")
        assert user is not None
        workspaces, total = await uow.workspaces.for_user(user.id)
        assert total == 2
        assert {(w.id, role) for w, role in workspaces} == {(seed.a, "owner"), (seed.b, "owner")}
        other = await uow.users.add(User(name="bob"))
        await uow.workspaces.add_member(seed.b, other.id, "viewer")
        assert await uow.workspaces.role(seed.b, other.id) == "viewer"
        assert await uow.workspaces.role(seed.a, other.id) is None
    with pytest.raises(IntegrityError):
        async with UnitOfWork(sessions) as uow:
            await uow.workspaces.add_member(seed.a, other.id, "superuser")


async def test_update_rejects_unknown_and_identity_columns(sessions: Sessions) -> None:
    seed = await _seed(sessions)
    async with UnitOfWork(sessions) as uow:
        for column in ("nope", "workspace_id", "id"):
            with pytest.raises(ValueError, match=column):
                await uow.bots.update(seed.a, seed.rows["bots"], **{column: "x"})
