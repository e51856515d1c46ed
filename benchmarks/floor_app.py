"""The floor under a persisted chat turn on this stack: ``server.py``'s bare FastAPI endpoint plus the turn's
database work, done as Plait does it and nothing else.

Each ``POST /v3/chat`` reads the conversation and its section's latest ``HISTORY_ROWS`` messages in a unit of
work, with the repository call a Plait turn makes (``ConversationRepository.with_history``), ends that read,
then writes a chat, its question and its answer with Plait's group commit, and answers the JSON Plait answered.
No auth, agent, event log or chat view: what Plait spends beyond this floor is its own, and this floor over bare
is the share of the machine any server keeps once it stores turns with FastAPI, SQLAlchemy and SQLite.

It runs on the database a Plait run just used (``FLOOR_DATABASE_ENV``), so its conversations are as long.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, select

from server import BARE_ANSWER_ENV, FLOOR_DATABASE_ENV, BareChatBody

HISTORY_ROWS = 80  # Plait's default: 20 rounds of four messages
message_columns = {"content_type": "text", "reasoning_content": None}


def floor_app() -> Any:
    from fastapi import FastAPI, HTTPException

    from plait.store import Database, new_id
    from plait.store.base import now
    from plait.store.group_commit import Save
    from plait.store.tables import Chat, Conversation, Message

    database = Database(os.environ[FLOOR_DATABASE_ENV])
    answer: dict[str, Any] = json.loads(os.environ[BARE_ANSWER_ENV])
    conversations: Table = Conversation.__table__  # type: ignore[assignment]
    workspaces: dict[str, str] = {}  # a conversation's workspace, as a Plait turn has it from its cached principal

    async def workspace_of(conversation_id: str) -> str | None:
        if conversation_id not in workspaces:
            query = select(conversations.c.workspace_id).where(conversations.c.id == conversation_id)
            async with database.engine.connect() as connection:
                found = (await connection.execute(query)).scalar()
            if found is None:
                return None
            workspaces[conversation_id] = found
        return workspaces[conversation_id]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await database.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v3/chat")
    async def chat_endpoint(body: BareChatBody, conversation_id: str) -> dict[str, Any]:
        workspace_id = await workspace_of(conversation_id)
        async with database.unit_of_work() as uow:
            history = await uow.conversations.with_history(workspace_id or "", conversation_id, HISTORY_ROWS)
        if history is None:
            raise HTTPException(404, "no such conversation")
        section = history.conversation.last_section_id
        question = (body.additional_messages or [{}])[-1].get("content", "")
        stamp = now()
        common = {
            "workspace_id": workspace_id, "conversation_id": conversation_id, "section_id": section,
            "bot_id": body.bot_id, "meta_data": {}, "created_at": stamp, "updated_at": stamp,
        }  # fmt: skip
        chat = Chat(id=new_id(), user_id=body.user_id, status="completed", **common)
        rows = [
            Message(id=new_id(), chat_id=chat.id, role=role, type=kind, content=question, **message_columns, **common)
            for role, kind in (("user", "question"), ("assistant", "answer"))
        ]
        await database.writer.save(Save([chat, *rows]))
        return answer

    return app
