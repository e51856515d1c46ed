"""Summaries of sections, users' long-term variables and user sessions: each write is one conditional
statement, so concurrent chats of one user (on any worker) never lose a newer value to an older one."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from plait.store.base import now
from plait.store.tables import ConversationSummary, Message, UserSession, UserVariable


class SummaryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, workspace_id: str, section_id: str) -> ConversationSummary | None:
        query = select(ConversationSummary).where(
            ConversationSummary.workspace_id == workspace_id, ConversationSummary.section_id == section_id
        )
        return (await self.session.execute(query)).scalar()

    async def turns(
        self, workspace_id: str, conversation_id: str, section_id: str, after: str, before: str, limit: int
    ) -> list[Message]:
        """The section's messages strictly between two ids, the latest ``limit`` of them, oldest first. (The
        conversation is named so the read walks the (conversation_id, id) index: by section alone it scanned
        every message, a quarter of the server's CPU under a chat load.)"""
        query = (
            select(Message)
            .where(
                Message.workspace_id == workspace_id,
                Message.conversation_id == conversation_id,
                Message.section_id == section_id,
                Message.id > after,
                Message.id < before,
            )
            .order_by(Message.id.desc())
            .limit(limit)
        )
        return list(reversed(list((await self.session.execute(query)).scalars())))

    async def save(self, row: ConversationSummary, covered_before: str | None) -> bool:
        """Store a summary that extends the one covering up to ``covered_before`` (None: there was none); False
        when another chat's summary moved on meanwhile (theirs stands: it covers as much or more)."""
        if covered_before is None:
            try:
                async with self.session.begin_nested():
                    self.session.add(row)
            except IntegrityError:
                return False
            return True
        statement = (
            update(ConversationSummary)
            .where(
                ConversationSummary.section_id == row.section_id,
                ConversationSummary.last_message_id == covered_before,
            )
            .values(content=row.content, last_message_id=row.last_message_id, updated_at=now())
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(await self.session.execute(statement), "rowcount", 0))


class UserVariableRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def values(
        self, workspace_id: str, bot_id: str, connector_uid: str, keywords: Sequence[str] = ()
    ) -> list[UserVariable]:
        """The user's stored values, by keyword; all of them when ``keywords`` is empty."""
        query = select(UserVariable).where(
            UserVariable.workspace_id == workspace_id,
            UserVariable.bot_id == bot_id,
            UserVariable.connector_uid == connector_uid,
        )
        if keywords:
            query = query.where(UserVariable.keyword.in_(list(keywords)))
        return list((await self.session.execute(query.order_by(UserVariable.keyword))).scalars())

    async def put(self, workspace_id: str, bot_id: str, connector_uid: str, values: dict[str, str]) -> None:
        """Set each keyword's value: an update, or an insert in a savepoint that turns into the update when a
        concurrent writer inserted the same keyword first."""
        for keyword, value in values.items():
            if await self._update(bot_id, connector_uid, keyword, value):
                continue
            row = UserVariable(
                workspace_id=workspace_id, bot_id=bot_id, connector_uid=connector_uid, keyword=keyword, value=value
            )
            try:
                async with self.session.begin_nested():
                    self.session.add(row)
            except IntegrityError:
                await self._update(bot_id, connector_uid, keyword, value)

    async def _update(self, bot_id: str, connector_uid: str, keyword: str, value: str) -> bool:
        statement = (
            update(UserVariable)
            .where(
                UserVariable.bot_id == bot_id,
                UserVariable.connector_uid == connector_uid,
                UserVariable.keyword == keyword,
            )
            .values(value=value, updated_at=now())
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(await self.session.execute(statement), "rowcount", 0))


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def touch(
        self, workspace_id: str, bot_id: str, user_id: str, conversation_id: str, at: int, count: int
    ) -> None:
        """Count ``count`` chats into the user's session with the bot, opening one when there is none."""
        statement = (
            update(UserSession)
            .where(UserSession.bot_id == bot_id, UserSession.user_id == user_id)
            .values(
                status="active",
                chat_count=UserSession.chat_count + count,
                last_conversation_id=conversation_id,
                last_active_at=at,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(await self.session.execute(statement), "rowcount", 0):
            return
        row = UserSession(
            workspace_id=workspace_id,
            bot_id=bot_id,
            user_id=user_id,
            status="active",
            chat_count=count,
            last_conversation_id=conversation_id,
            started_at=at,
            last_active_at=at,
        )
        try:
            async with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:  # a concurrent chat opened it: count this one in
            await self.session.execute(statement)

    async def of(self, workspace_id: str, bot_id: str, user_id: str | None, limit: int) -> list[UserSession]:
        query = select(UserSession).where(UserSession.workspace_id == workspace_id, UserSession.bot_id == bot_id)
        if user_id is not None:
            query = query.where(UserSession.user_id == user_id)
        return list(
            (await self.session.execute(query.order_by(UserSession.last_active_at.desc()).limit(limit))).scalars()
        )

    async def expire(self, *, idle_before: int, expired_before: int) -> tuple[int, int]:
        """Maintenance across workspaces: mark sessions idle, delete expired ones; how many of each."""
        idled = await self.session.execute(
            update(UserSession)
            .where(UserSession.status == "active", UserSession.last_active_at < idle_before)
            .values(status="idle")
            .execution_options(synchronize_session=False)
        )
        deleted = await self.session.execute(
            delete(UserSession)
            .where(UserSession.last_active_at < expired_before)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(idled, "rowcount", 0)), int(getattr(deleted, "rowcount", 0))
