"""The studio's conversation history as a use case, on SQLite and PostgreSQL: the bot's conversations the
caller started, newest first, each named by its first question (an object_string one by its text), paged."""

from __future__ import annotations

import pytest
from platform_fixtures import workspace_owner

from plait.platform import bots
from plait.platform.access import Principal
from plait.platform.bot_config import BotConfig, ModelSettings
from plait.platform.conversations import NewMessage, create_conversation, started_conversations
from plait.platform.errors import NotFound
from plait.store import Database


def _question(text: str, content_type: str = "text") -> NewMessage:
    return NewMessage(role="user", content=text, content_type=content_type, meta_data={})


async def test_the_callers_conversations_newest_first_named_by_their_first_question(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.unit_of_work() as uow:
            owner = await workspace_owner(uow)
            bot_id = (
                await bots.create_bot(
                    uow, owner, owner.workspace_id, BotConfig(name="b", model=ModelSettings(model_id="scripted/echo"))
                )
            ).id
            other = Principal(key_id="", user_id="someone", workspace_id=owner.workspace_id, role="member")
            started = []
            for who, messages in [
                (owner, [_question("  first\n question "), _question("a later one")]),
                (other, [_question("not the owner's")]),
                (owner, []),
                (owner, [_question('[{"type": "text", "text": "multimodal"}]', "object_string")]),
            ]:
                conversation = await create_conversation(
                    uow, who, bot_id=bot_id, name=None, meta_data={}, connector_id=None, messages=messages
                )
                started.append(conversation.id)
        async with database.unit_of_work() as uow:
            mine, more = await started_conversations(uow, owner, bot_id, page_num=1, page_size=2)
            assert [(c.id, c.first_question) for c in mine] == [(started[3], "multimodal"), (started[2], "")]
            assert more is True
            rest, more = await started_conversations(uow, owner, bot_id, page_num=2, page_size=2)
            assert [(c.id, c.first_question) for c in rest] == [(started[0], "first question")] and more is False
            theirs, _ = await started_conversations(uow, other, bot_id, page_num=1, page_size=10)
            assert [c.first_question for c in theirs] == ["not the owner's"]
            with pytest.raises(NotFound):
                await started_conversations(uow, owner, "1", page_num=1, page_size=10)
    finally:
        await database.dispose()
