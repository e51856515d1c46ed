"""A workspace's bots as a run's agent nodes reach them: the node's message is a chat with the bot, like one
through ``/v3/chat`` (the bot's published version, its persona, model, tools and knowledge; the chat and its
messages saved), and the answer's pieces stream as the node's chunks.

Bots and workflows may call each other (a bot lists a workflow whose agent node runs a bot...); the nesting
travels in a context variable, which the tasks of chats and runs inherit, and stops at ``MAX_NESTING``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

from plait.platform.access import Principal
from plait.platform.bot_tools import tool_reply
from plait.platform.chat.events import MessageDelta
from plait.platform.chat.runner import ChatRunner, Run
from plait.platform.chat.service import ChatRequest, start_chat
from plait.platform.conversations import NewMessage
from plait.schema import PlaitError
from plait.store import Database
from plait.workflows.ports import BotAnswer, BotRequest

MAX_NESTING = 3
_nesting: ContextVar[int] = ContextVar("plait_bot_nesting", default=0)


class BotFailed(PlaitError):
    """The bot gave no answer: the reason is the chat's own (its failure, or the client tools it waits for)."""


class WorkspaceBots:
    """``BotRunner`` over one workspace's bots, acting as the run's user."""

    def __init__(self, database: Database, chats: ChatRunner, principal: Principal) -> None:
        self._database = database
        self._chats = chats
        self._principal = principal

    async def run_bot(
        self, request: BotRequest, system: Mapping[str, Any], on_delta: Callable[[str], None] | None = None
    ) -> BotAnswer:
        depth = _nesting.get() + 1
        if depth > MAX_NESTING:
            raise BotFailed(f"bots and workflows call each other more than {MAX_NESTING} levels deep")
        token = _nesting.set(depth)  # the chat's task starts in this context
        try:
            run = await self._start(request, system)
        finally:
            _nesting.reset(token)
        try:
            if on_delta is not None:
                await _follow(run, on_delta)
            reply = await tool_reply(run)
        except asyncio.CancelledError:  # the workflow run stopped (timeout, shutdown): so does its chat
            self._chats.stop(run.chat.id)
            raise
        if not reply.ok:
            raise BotFailed(f"bot {request.bot_id}: {reply.text}")
        usage = run.state.usage
        return BotAnswer(
            text=reply.text,
            conversation_id=reply.conversation_id,
            usage={"input_count": usage.input_count, "output_count": usage.output_count},
        )

    async def _start(self, request: BotRequest, system: Mapping[str, Any]) -> Run:
        entered = NewMessage(role="user", content=request.message, content_type="text", meta_data={})
        chat = ChatRequest(
            bot_id=request.bot_id,
            conversation_id=request.conversation_id or None,
            user_id=str(system.get("user_id") or "") or None,
            messages=[entered],
            custom_variables=dict(request.variables),
        )
        async with self._database.unit_of_work() as uow:
            return await start_chat(uow, self._principal, self._chats, chat)


async def _follow(run: Run, on_delta: Callable[[str], None]) -> None:
    async for batch in run.log.batches():
        for event in batch:
            if isinstance(event, MessageDelta) and event.text:
                on_delta(event.text)
