"""Chat runs seen from every process: a run's events, and a cancel sent to the process running it.

In one process (the default) nothing is relayed: a run's `EventLog` is its only record while it runs, the
database after. With Redis (``PLAIT_REDIS_URL``) a `RedisRunBus` copies each run's log to a Redis stream, one
entry per batch of events (what arrived since the last entry, so a fast model costs far fewer entries than
deltas), so any API process can follow a chat another runs from its first event; and each process listens on a
control channel of its own for the cancels of its chats, which stop at once instead of at the next heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from plait.platform.chat.events import (
    ChatCompleted,
    ChatCreated,
    ChatFailed,
    ChatInProgress,
    ChatRequiresAction,
    EventLog,
    MessageCompleted,
    MessageDelta,
    RunEnded,
    RunEvent,
)
from plait.platform.chat.records import ChatError, ChatState, ChatUsage, MessageRecord, PendingToolCalls

if TYPE_CHECKING:  # redis is an optional extra: the hub is made only when Redis is configured
    from plait.store.redis_hub import RedisHub

log = logging.getLogger(__name__)
STREAM_SECONDS = 3600  # a run's stream is kept this long after its last entry
IDLE_MS = 5000  # a follower that saw nothing this long asks whether the run still goes on
_STATE_FIELDS: tuple[str, ...] = ("id", "conversation_id", "bot_id", "section_id", "created_at", "meta_data")
_STATE_FIELDS += ("status", "completed_at", "failed_at")
_CHAT_EVENTS: dict[str, type[ChatCreated | ChatInProgress | ChatCompleted | ChatFailed | ChatRequiresAction]] = {
    kind.__name__: kind for kind in (ChatCreated, ChatInProgress, ChatCompleted, ChatFailed, ChatRequiresAction)
}


class RunBus(Protocol):
    """What a chat runner shares with the other processes (see the module docstring)."""

    def forward(self, chat_id: str, events: EventLog) -> None:
        """Publish a run's log as it grows, until it ends."""
        ...

    def follow(self, chat_id: str, running: Callable[[], Awaitable[bool]]) -> AsyncIterator[list[RunEvent]]:
        """A run's events from the first, in batches, until `RunEnded`; stops early when nothing came for a
        while and ``running()`` says the run is over (its process died)."""
        ...

    async def cancel(self, instance: str, chat_id: str) -> None:
        """Tell the process ``instance`` to stop its run of ``chat_id``."""
        ...

    def on_cancel(self, instance: str, stop: Callable[[str], None]) -> None:
        """Call ``stop(chat_id)`` for each cancel sent to ``instance`` (this process)."""
        ...


class RedisRunBus:
    def __init__(self, hub: RedisHub) -> None:
        self._hub = hub
        self._forwarding: set[asyncio.Task[None]] = set()

    def forward(self, chat_id: str, events: EventLog) -> None:
        task = asyncio.create_task(self._forward(chat_id, events), name=f"relay chat {chat_id}")
        self._forwarding.add(task)
        task.add_done_callback(self._forwarding.discard)

    async def _forward(self, chat_id: str, events: EventLog) -> None:
        key = self._stream(chat_id)
        try:
            async for batch in events.batches():
                await self._hub.append(key, encode(batch), ttl_seconds=STREAM_SECONDS)
        except Exception:  # the run goes on for its own streams; others see it in the database when it ends
            log.exception("chat %s: could not relay its events to Redis", chat_id)

    async def follow(self, chat_id: str, running: Callable[[], Awaitable[bool]]) -> AsyncIterator[list[RunEvent]]:
        key, after = self._stream(chat_id), "0"
        while True:
            entries = await self._hub.entries(key, after, block_ms=IDLE_MS)
            if not entries and not await running():
                return
            for entry_id, payload in entries:
                after, batch = entry_id, decode(payload)
                yield batch
                if isinstance(batch[-1], RunEnded):
                    return

    async def cancel(self, instance: str, chat_id: str) -> None:
        await self._hub.publish(self._control(instance), chat_id)

    def on_cancel(self, instance: str, stop: Callable[[str], None]) -> None:
        self._hub.listen(self._control(instance), stop)

    async def aclose(self) -> None:
        """Wait for the last entries of the runs that ended (a run's log is closed before its process stops)."""
        await asyncio.gather(*self._forwarding, return_exceptions=True)

    def _stream(self, chat_id: str) -> str:
        return self._hub.key("chat", chat_id, "events")

    def _control(self, instance: str) -> str:
        return self._hub.key("control", instance)


def encode(batch: list[RunEvent]) -> bytes:
    return orjson.dumps([_encode(event) for event in batch])


def decode(payload: bytes) -> list[RunEvent]:
    """The batch's events; the deltas of one answer share one record, as they do in the run (encoders render
    it once)."""
    events: list[RunEvent] = []
    record: MessageRecord | None = None
    for item in orjson.loads(payload):
        if item["k"] == "MessageDelta":
            if record is None or record.id != item["m"]["id"]:
                record = MessageRecord(**item["m"])
            events.append(MessageDelta(record, item["t"], item["r"]))
        else:
            events.append(_decode(item))
    return events


def _encode(event: RunEvent) -> dict[str, Any]:
    kind = type(event).__name__
    if isinstance(event, MessageDelta):
        return {"k": kind, "m": asdict(event.message), "t": event.text, "r": event.reasoning}
    if isinstance(event, MessageCompleted):
        return {"k": kind, "m": asdict(event.message)}
    if isinstance(event, RunEnded):
        return {"k": kind}
    state = event.chat
    chat = {name: getattr(state, name) for name in _STATE_FIELDS}
    chat |= {"usage": state.usage.to_json(), "last_error": state.last_error and state.last_error.to_json()}
    return {"k": kind, "c": chat | {"pending": state.pending and state.pending.to_json()}}


def _decode(item: dict[str, Any]) -> RunEvent:
    kind = item["k"]
    if kind == "MessageCompleted":
        return MessageCompleted(MessageRecord(**item["m"]))
    if kind == "RunEnded":
        return RunEnded()
    chat = item["c"]
    state = ChatState(
        **{name: chat[name] for name in _STATE_FIELDS},
        usage=ChatUsage.from_json(chat["usage"]),
        last_error=ChatError.from_json(chat["last_error"]) if chat["last_error"] else None,
        pending=PendingToolCalls.from_json(chat["pending"]) if chat["pending"] else None,
    )
    return _CHAT_EVENTS[kind](state)
