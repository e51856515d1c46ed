"""Conversations, their sections, messages (cursor pages) and chats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import Table, Update, bindparam, func, select, update

from plait.store.repositories.base import Page, ScopedRepository
from plait.store.tables import Chat, Conversation, ConversationSummary, Message, Section


@dataclass(slots=True, kw_only=True)
class MessagePage:
    """A cursor page as ``messages.list`` answers it: ``first_id``/``last_id`` are "" when empty."""

    items: list[Message]
    first_id: str
    last_id: str
    has_more: bool


DAY_SECONDS = 86_400
_CHATS = cast(Table, Chat.__table__)
_SETTLE = update(_CHATS).where(
    _CHATS.c.workspace_id == bindparam("chat_workspace_id"),
    _CHATS.c.id == bindparam("chat_id"),
    _CHATS.c.status == "in_progress",
)


def settle_chat(workspace_id: str, chat_id: str, **values: Any) -> tuple[Update, dict[str, Any]]:
    """``ChatRepository.settle``'s statement and parameters, for a writer outside a session (group_commit)."""
    return _SETTLE, {"chat_workspace_id": workspace_id, "chat_id": chat_id, **values}


# Core statements over the tables, not the mapped classes: the ORM's row loading cost more than SQLite's read.
_CONVERSATIONS = cast(Table, Conversation.__table__)
_MESSAGES = cast(Table, Message.__table__)
_SUMMARIES = cast(Table, ConversationSummary.__table__)
_CONVERSATION_KEYS = tuple(column.key for column in _CONVERSATIONS.columns)
_SUMMARY_AT = len(_CONVERSATION_KEYS)  # then the id the section's summary covers up to, and its text
_CONVERSATION = (
    select(*_CONVERSATIONS.columns, _SUMMARIES.c.last_message_id, _SUMMARIES.c.content)
    .select_from(_CONVERSATIONS.outerjoin(_SUMMARIES, _SUMMARIES.c.section_id == _CONVERSATIONS.c.last_section_id))
    .where(
        _CONVERSATIONS.c.workspace_id == bindparam("workspace_id"),
        _CONVERSATIONS.c.id == bindparam("conversation_id"),
    )
)
_HISTORY = (
    select(*(_MESSAGES.c[name] for name in ("id", "role", "type", "content", "content_type", "meta_data")))
    .where(
        _MESSAGES.c.conversation_id == bindparam("conversation_id"),
        _MESSAGES.c.section_id == bindparam("section_id"),
        _MESSAGES.c.id > bindparam("after_id"),
    )
    .order_by(_MESSAGES.c.id.desc())
    .limit(bindparam("limit"))
)


@dataclass(slots=True)
class HistoryEntry:
    """What a bot's context needs of a stored message."""

    id: str
    role: str
    type: str
    content: str
    content_type: str
    meta_data: dict[str, str]


@dataclass(slots=True)
class History:
    """A conversation with the latest messages of its current section."""

    conversation: Conversation
    entries: list[HistoryEntry]
    summarized_through: str | None  # the last message the section's summary covers; None: no summary
    summary: str  # the summary's text; "" when there is none
    full: bool  # as many messages as asked for: older ones may exist


class ConversationRepository(ScopedRepository[Conversation]):
    model = Conversation

    async def with_history(self, workspace_id: str, conversation_id: str, limit: int) -> History | None:
        """A conversation and the latest ``limit`` messages of its current section that its summary does not
        cover, oldest first, and the summary; only the columns a bot's context needs. None: no such conversation.
        (The summary's join is a primary-key lookup that brings its text along: a query of its own cost 7% of a
        turn's time once a conversation had a summary.)

        Two statements built once, their rows plain columns, the conversation made detached from its row: one
        join repeated the conversation's columns on each of up to ``limit`` rows, which cost SQLite and the
        row processing twice the time of reading them once (450 -> ~250 µs a turn at 80 rows). They run on the
        session's connection: the ORM's statement handling has nothing to do for them."""
        connection = await self.session.connection()
        found = (
            await connection.execute(_CONVERSATION, {"workspace_id": workspace_id, "conversation_id": conversation_id})
        ).first()
        if found is None:
            return None
        conversation = Conversation(**dict(zip(_CONVERSATION_KEYS, found[:_SUMMARY_AT], strict=True)))
        summarized_through, summary = found[_SUMMARY_AT], found[_SUMMARY_AT + 1] or ""
        params: dict[str, Any] = {
            "conversation_id": conversation_id,
            "section_id": conversation.last_section_id,
            "after_id": summarized_through or "",
            "limit": limit,
        }
        rows = (await connection.execute(_HISTORY, params)).all()
        entries = [HistoryEntry(*row) for row in reversed(rows)]
        return History(conversation, entries, summarized_through, summary, full=len(entries) >= limit)

    async def for_bot(
        self, workspace_id: str, bot_id: str, *, creator_id: str | None = None, page_num: int = 1, page_size: int = 20
    ) -> Page[Conversation]:
        """The bot's conversations, newest first; with ``creator_id``, only those that user started."""
        where = [Conversation.bot_id == bot_id]
        if creator_id is not None:
            where.append(Conversation.creator_id == creator_id)
        return await self.page(workspace_id, *where, page_num=page_num, page_size=page_size)


class SectionRepository(ScopedRepository[Section]):
    model = Section


class MessageRepository(ScopedRepository[Message]):
    model = Message

    async def window(
        self,
        workspace_id: str,
        conversation_id: str,
        *,
        order: Literal["asc", "desc"] = "desc",
        chat_id: str | None = None,
        before_id: str | None = None,
        after_id: str | None = None,
        limit: int = 50,
    ) -> MessagePage:
        """Up to ``limit`` messages next to a cursor, which is positional in the list's own ``order``:
        ``after_id`` means "later in this list" (older when desc, newer when asc), ``before_id`` the reverse.

        That is what cozepy's paginator relies on: it asks for the next page with ``after_id=last_id`` in both
        orders. Ids are time-ordered, so id order is creation order; the page is read walking away from the
        cursor and then put in the requested ``order``.
        """
        query = self._scoped(workspace_id, Message.conversation_id == conversation_id)
        if chat_id is not None:
            query = query.where(Message.chat_id == chat_id)
        asc = order == "asc"
        if after_id is not None:
            query, walk_up = query.where(Message.id > after_id if asc else Message.id < after_id), asc
        elif before_id is not None:
            query, walk_up = query.where(Message.id < before_id if asc else Message.id > before_id), not asc
        else:
            walk_up = asc
        query = query.order_by(Message.id if walk_up else Message.id.desc()).limit(limit + 1)
        rows = list((await self.session.execute(query)).scalars())
        has_more = len(rows) > limit
        rows = sorted(rows[:limit], key=lambda m: m.id, reverse=order == "desc")
        return MessagePage(
            items=rows,
            first_id=rows[0].id if rows else "",
            last_id=rows[-1].id if rows else "",
            has_more=has_more,
        )

    async def first_questions(self, workspace_id: str, conversation_ids: list[str]) -> dict[str, Message]:
        """Each conversation's first question (ids are time-ordered: the smallest), by conversation id."""
        first = (
            select(func.min(Message.id))
            .where(
                Message.workspace_id == workspace_id,
                Message.conversation_id.in_(conversation_ids),
                Message.type == "question",
            )
            .group_by(Message.conversation_id)
        )
        rows = await self.session.execute(select(Message).where(Message.id.in_(first)))
        return {row.conversation_id: row for row in rows.scalars()}

    async def for_chat(self, workspace_id: str, conversation_id: str, chat_id: str) -> list[Message]:
        """A chat's messages, oldest first (``chat.messages.list``)."""
        query = self._scoped(workspace_id, Message.conversation_id == conversation_id, Message.chat_id == chat_id)
        return list((await self.session.execute(query.order_by(Message.id))).scalars())


class ChatRepository(ScopedRepository[Chat]):
    model = Chat

    async def settle(self, workspace_id: str, chat_id: str, **values: Any) -> bool:
        """Move a running chat on (to completed, failed...); False when it no longer runs, e.g. another worker
        canceled it meanwhile: the cancel stands. One statement built once: its SET clause is the values'
        columns (building the ORM update anew cost a fifth of a streamed chat's CPU)."""
        return bool(getattr(await self.session.execute(*settle_chat(workspace_id, chat_id, **values)), "rowcount", 0))

    async def resume(self, workspace_id: str, chat_id: str, runner: str) -> bool:
        """Put a chat waiting for tool outputs back in progress under ``runner``; False when it no longer waits
        (another submit won, or it was canceled): one conditional update, so two submits start one run."""
        statement = (
            update(Chat)
            .where(Chat.workspace_id == workspace_id, Chat.id == chat_id, Chat.status == "requires_action")
            .values(status="in_progress", required_action=None, runner=runner)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(await self.session.execute(statement), "rowcount", 0))

    async def ended_among(self, chat_ids: list[str]) -> list[str]:
        """Which of ``chat_ids`` no longer run (canceled or failed elsewhere): maintenance across workspaces."""
        query = select(Chat.id).where(Chat.id.in_(chat_ids), Chat.status.not_in(("in_progress", "created")))
        return list((await self.session.execute(query)).scalars())

    async def cancel(self, workspace_id: str, chat_id: str) -> bool:
        """Cancel a chat that has not ended; False when it already had."""
        statement = (
            update(Chat)
            .where(
                Chat.workspace_id == workspace_id,
                Chat.id == chat_id,
                Chat.status.in_(("created", "in_progress", "requires_action")),
            )
            .values(status="canceled", required_action=None)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(await self.session.execute(statement), "rowcount", 0))

    async def find(self, workspace_id: str, conversation_id: str, chat_id: str) -> Chat | None:
        """A chat by id within its conversation, as ``chat.retrieve`` names it."""
        query = self._scoped(workspace_id, Chat.id == chat_id, Chat.conversation_id == conversation_id)
        return (await self.session.execute(query)).scalar()

    async def for_conversation(
        self, workspace_id: str, conversation_id: str, *, page_num: int = 1, page_size: int = 20
    ) -> Page[Chat]:
        where = Chat.conversation_id == conversation_id
        return await self.page(workspace_id, where, page_num=page_num, page_size=page_size)

    async def outcomes(self, workspace_id: str, bot_ids: list[str], since: int) -> list[ChatOutcomes]:
        """How the chats of ``bot_ids`` started since ``since`` ended (completed or failed), per bot and status,
        with their mean seconds from start to end: the live signals routing weighs."""
        seconds = func.avg(func.coalesce(Chat.completed_at, Chat.failed_at) - Chat.created_at)
        query = (
            select(Chat.bot_id, Chat.status, func.count(), seconds)
            .where(
                Chat.workspace_id == workspace_id,
                Chat.bot_id.in_(bot_ids),
                Chat.created_at >= since,
                Chat.status.in_(("completed", "failed")),
            )
            .group_by(Chat.bot_id, Chat.status)
        )
        return [
            ChatOutcomes(bot_id=bot_id, status=status, count=int(count), mean_seconds=float(mean or 0.0))
            for bot_id, status, count, mean in (await self.session.execute(query)).all()
        ]

    async def usage_by_day(self, workspace_id: str, since: int) -> list[ChatUsageDay]:
        """Chats started since ``since`` per bot and UTC day: how many, and their tokens (what the studio's usage
        chart shows), summed in the database so a busy month is one small answer."""
        day = (Chat.created_at // DAY_SECONDS).label("day")
        tokens = [func.coalesce(func.sum(Chat.usage[key].as_integer()), 0) for key in ("input_count", "output_count")]
        query = (
            select(Chat.bot_id, day, func.count(), *tokens)
            .where(Chat.workspace_id == workspace_id, Chat.created_at >= since)
            .group_by(Chat.bot_id, day)
            .order_by(day)
        )
        return [
            ChatUsageDay(bot_id=bot_id, day=int(number), chats=int(count), input_tokens=int(i), output_tokens=int(o))
            for bot_id, number, count, i, o in (await self.session.execute(query)).all()
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatUsageDay:
    bot_id: str | None
    day: int  # days since the epoch, UTC
    chats: int
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatOutcomes:
    bot_id: str
    status: str
    count: int
    mean_seconds: float
