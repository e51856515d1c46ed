"""What a workflow run shows its clients, wire-neutral: Coze's four stream events. The log keeps a run's
events so a stream that joins late reads them from the start; it ends with `StreamDone` or `StreamError`,
or with `StreamInterrupt` when the run waits for an answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from plait.platform.workflows.records import RunUsage


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """Output of a message or end node; a streamed node sends pieces, the last with ``node_is_finish``."""

    content: str
    node_title: str
    node_seq_id: int
    node_is_finish: bool
    usage: RunUsage | None = None


@dataclass(frozen=True, slots=True)
class StreamInterrupt:
    """The run paused at a question or input node; ``event_id`` is what a resume names."""

    event_id: str
    type: int
    data: str
    node_title: str


@dataclass(frozen=True, slots=True)
class StreamError:
    code: int
    message: str


@dataclass(frozen=True, slots=True)
class StreamDone:
    debug_url: str


StreamEvent = StreamMessage | StreamInterrupt | StreamError | StreamDone
FINAL = (StreamInterrupt, StreamError, StreamDone)


class RunLog:
    """One run segment's events (a start, or a resume, up to its pause or end), for any number of streams."""

    def __init__(self) -> None:
        self.events: list[StreamEvent] = []
        self._appended = asyncio.Event()

    @property
    def closed(self) -> bool:
        return bool(self.events) and isinstance(self.events[-1], FINAL)

    def append(self, event: StreamEvent) -> None:
        if self.closed:
            return  # a run's last word stands (a late error after its Done is in the history only)
        self.events.append(event)
        woken, self._appended = self._appended, asyncio.Event()
        woken.set()

    async def batches(self) -> AsyncIterator[list[StreamEvent]]:
        """What arrived since the last batch, until the final event."""
        index = 0
        while True:
            if index == len(self.events):
                await self._appended.wait()
                continue
            batch = self.events[index:]
            index += len(batch)
            yield batch
            if isinstance(batch[-1], FINAL):
                return
