"""The floor under a persisted chat turn on this stack: ``server.py``'s bare FastAPI endpoint plus the turn's
database work, done as Plait does it and nothing else.

Each ``POST /v3/chat`` reads the conversation and its section's latest ``HISTORY_ROWS`` messages (two indexed
SELECTs on one pooled connection, through SQLAlchemy's async engine), ends that read, then writes a chat, its
question and its answer with Plait's group commit, and answers the JSON Plait answered. No auth, agent, event
log or chat view: what Plait spends beyond this floor is its own, and this floor over bare is the share of the
machine any server keeps once it stores turns with FastAPI, SQLAlchemy and SQLite.

It runs on the database a Plait run just used (``FLOOR_DATABASE_ENV``), so its conversations are as long.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import Table, bindparam, select

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
    conversations, messages = cast(Table, Conversation.__table__), cast(Table, Message.__table__)
    conversation_query = select(
        conversations.c.id, conversations.c.workspace_id, conversations.c.bot_id, conversations.c.last_section_id
    ).where(conversations.c.id == bindparam("conversation_id"))
    history_query = (
        select(*(messages.c[name] for name in ("id", "role", "type", "content", "content_type", "meta_data")))
        .where(messages.c.conversation_id == bindparam("conversation_id"))
        .where(messages.c.section_id == bindparam("section_id"))
        .order_by(messages.c.id.desc())
        .limit(HISTORY_ROWS)
    )

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
        async with database.engine.connect() as connection:
            found = (await connection.execute(conversation_query, {"conversation_id": conversation_id})).first()
            if found is None:
                raise HTTPException(404, "no such conversation")
            section = found.last_section_id
            params = {"conversation_id": conversation_id, "section_id": section}
            history = (await connection.execute(history_query, params)).all()
            await connection.commit()
        del history  # read as Plait reads it; what a bot makes of it is Plait's own cost
        question = (body.additional_messages or [{}])[-1].get("content", "")
        stamp = now()
        common = {
            "workspace_id": found.workspace_id, "conversation_id": conversation_id, "section_id": section,
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
