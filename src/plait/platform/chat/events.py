"""One chat run's events, typed; the faces encode them (Coze SSE, OpenAI SSE, the studio).

The log keeps every event of the run, so a subscriber that arrives late (or a second one) reads it from the
start. It ends with `RunEnded`, which the runner appends however the run stops, even when its last save fails:
a stream that follows a log always ends. A canceled run just ends: Coze has no event for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from plait.platform.chat.records import ChatState, MessageRecord


@dataclass(frozen=True, slots=True)
class ChatCreated:
    chat: ChatState


@dataclass(frozen=True, slots=True)
class ChatInProgress:
    chat: ChatState


@dataclass(frozen=True, slots=True)
class MessageDelta:
    """A piece of the answer being streamed; ``message`` is the answer's record so far (its id and chat)."""

    message: MessageRecord
    text: str
    reasoning: str


@dataclass(frozen=True, slots=True)
class MessageCompleted:
    message: MessageRecord


@dataclass(frozen=True, slots=True)
class ChatCompleted:
    chat: ChatState


@dataclass(frozen=True, slots=True)
class ChatFailed:
    chat: ChatState


@dataclass(frozen=True, slots=True)
class ChatRequiresAction:
    chat: ChatState


@dataclass(frozen=True, slots=True)
class RunEnded:
    """The last event of every run."""


RunEvent = (
    ChatCreated
    | ChatInProgress
    | MessageDelta
    | MessageCompleted
    | ChatCompleted
    | ChatFailed
    | ChatRequiresAction
    | RunEnded
)


class EventLog:
    def __init__(self) -> None:
        self.events: list[RunEvent] = []
        self._appended = asyncio.Event()

    @property
    def closed(self) -> bool:
        return bool(self.events) and isinstance(self.events[-1], RunEnded)

    def append(self, event: RunEvent) -> None:
        if self.closed:
            raise RuntimeError("the chat's event log is closed")
        self.events.append(event)
        woken, self._appended = self._appended, asyncio.Event()
        woken.set()

    def close(self) -> None:
        """End the log unless it has ended; what the runner does last, whatever happened before."""
        if not self.closed:
            self.append(RunEnded())

    async def follow(self) -> AsyncIterator[RunEvent]:
        """Every event from the first, waiting for new ones, until `RunEnded`."""
        async for batch in self.batches():
            for event in batch:
                yield event

    async def batches(self) -> AsyncIterator[list[RunEvent]]:
        """What `follow` yields, in lists of what arrived since the last list: a stream that falls behind (many
        runs on one loop) sends one chunk for many events instead of a write through every middleware each."""
        index = 0
        while True:
            if index == len(self.events):
                await self._appended.wait()
                continue
            batch = self.events[index:]
            index += len(batch)
            yield batch
            if isinstance(batch[-1], RunEnded):
                return
