"""User sessions: a user's run of chats with a bot, kept in the database so every worker sees the same one.

A session is ``active`` while chats come, ``idle`` once none came for ``idle_seconds``, and expires (its row
is deleted; the next chat opens a new one) after ``expire_seconds``. What expires is the session itself, the
short-term record of that run of chats (when it started, how many chats, the last conversation): never the
user's long-term variables, the conversations or their summaries. Chats are counted in after they end, off
their path, and at most once per ``throttle`` seconds per user and bot in each process (chats in between are
added to the next write); the heartbeat chore moves sessions on."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from plait.platform.access import Principal
from plait.platform.bots import get_bot
from plait.store import Database, UnitOfWork
from plait.store.base import now

log = logging.getLogger(__name__)
MAX_TRACKED = 10_000  # (bot, user) pairs whose last write a process remembers
MAX_THROTTLE_SECONDS = 30.0
MAX_LISTED = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRecord:
    id: str
    bot_id: str
    user_id: str
    status: str
    chat_count: int
    last_conversation_id: str | None
    started_at: int
    last_active_at: int
    expires_at: int


@dataclass(slots=True)
class _Seen:
    written_at: float
    pending: int = 0
    conversation_id: str = ""


class Sessions:
    def __init__(self, database: Database, *, idle_seconds: float, expire_seconds: float) -> None:
        self._database = database
        self.idle_seconds = idle_seconds
        self.expire_seconds = expire_seconds
        self.throttle = min(idle_seconds / 10, MAX_THROTTLE_SECONDS)
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._last_sweep = float("-inf")

    async def chatted(self, workspace_id: str, bot_id: str, user_id: str, conversation_id: str) -> None:
        """Count one chat of ``user_id`` with the bot into their session."""
        key, clock = (bot_id, user_id), time.monotonic()
        seen = self._seen.get(key)
        if seen is not None and clock - seen.written_at < self.throttle:
            seen.pending += 1
            seen.conversation_id = conversation_id
            return
        count = 1 + (seen.pending if seen is not None else 0)
        if len(self._seen) >= MAX_TRACKED:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = _Seen(clock)
        async with self._database.unit_of_work() as uow:
            await uow.user_sessions.touch(workspace_id, bot_id, user_id, conversation_id, now(), count)

    async def sweep(self) -> tuple[int, int]:
        """The heartbeat's chore: mark sessions idle and delete expired ones, at most every quarter of the
        idle timeout (and every minute); how many went idle and how many expired."""
        clock = time.monotonic()
        if clock - self._last_sweep < min(self.idle_seconds / 4, 60.0):
            return 0, 0
        self._last_sweep = clock
        at = now()
        async with self._database.unit_of_work() as uow:
            return await uow.user_sessions.expire(
                idle_before=at - int(self.idle_seconds), expired_before=at - int(self.expire_seconds)
            )

    async def sweep_chore(self) -> None:
        """``sweep`` as a heartbeat chore (``Presence.each_beat``)."""
        idled, expired = await self.sweep()
        if idled or expired:
            log.info("user sessions: %d went idle, %d expired", idled, expired)

    async def of(self, uow: UnitOfWork, principal: Principal, bot_id: str, user_id: str | None) -> list[SessionRecord]:
        """The sessions with a bot (of one user, when given), the latest ``MAX_LISTED`` by activity."""
        await get_bot(uow, principal, bot_id, published=False)  # 4200 for a bot not in the workspace
        rows = await uow.user_sessions.of(principal.workspace_id, bot_id, user_id, MAX_LISTED)
        return [
            SessionRecord(
                id=row.id,
                bot_id=row.bot_id,
                user_id=row.user_id,
                status=row.status,
                chat_count=row.chat_count,
                last_conversation_id=row.last_conversation_id,
                started_at=row.started_at,
                last_active_at=row.last_active_at,
                expires_at=row.last_active_at + int(self.expire_seconds),
            )
            for row in rows
        ]
