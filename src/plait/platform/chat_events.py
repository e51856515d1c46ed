"""One chat run's event stream, in the Coze event vocabulary; the faces encode it (Coze SSE, OpenAI SSE).

The log keeps every event of the run, so a subscriber that arrives late (or a second one) reads it from the
start; it ends with ``done``. A canceled run just ends: Coze has no event for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

EventKind = Literal[
    "conversation.chat.created",
    "conversation.chat.in_progress",
    "conversation.message.delta",
    "conversation.message.completed",
    "conversation.chat.completed",
    "conversation.chat.failed",
    "conversation.chat.requires_action",
    "done",
]


@dataclass(frozen=True, slots=True)
class ChatEvent:
    kind: EventKind
    data: dict[str, Any] | None = None  # a Chat or Message view; None for done


class EventLog:
    def __init__(self) -> None:
        self.events: list[ChatEvent] = []
        self._appended = asyncio.Event()

    @property
    def closed(self) -> bool:
        return bool(self.events) and self.events[-1].kind == "done"

    def append(self, event: ChatEvent) -> None:
        if self.closed:
            raise RuntimeError("the chat's event log is closed")
        self.events.append(event)
        woken, self._appended = self._appended, asyncio.Event()
        woken.set()

    async def follow(self) -> AsyncIterator[ChatEvent]:
        """Every event from the first, waiting for new ones, until ``done``."""
        index = 0
        while True:
            while index < len(self.events):
                event = self.events[index]
                index += 1
                yield event
                if event.kind == "done":
                    return
            await self._appended.wait()
