"""Workflow run events as cozepy parses them: every event exactly ``id: <int>``, ``event: <name>`` and a
one-line JSON ``data:``, nothing else (no comments, no pings: the parser rejects any other line)."""

from __future__ import annotations

from typing import Any

import orjson

from plait.platform.workflows.events import StreamDone, StreamError, StreamEvent, StreamInterrupt, StreamMessage


class WorkflowSseEncoder:
    """One stream's encoder: the ids count its events from 0."""

    def __init__(self) -> None:
        self._next_id = 0

    def encode(self, event: StreamEvent) -> bytes:
        name, data = _event(event)
        line = b"id: %d\nevent: %s\ndata: %s\n\n" % (self._next_id, name, orjson.dumps(data))
        self._next_id += 1
        return line


def _event(event: StreamEvent) -> tuple[bytes, dict[str, Any]]:
    if isinstance(event, StreamMessage):
        data: dict[str, Any] = {
            "content": event.content,
            "node_title": event.node_title,
            "node_seq_id": str(event.node_seq_id),
            "node_is_finish": event.node_is_finish,
        }
        if event.usage is not None:
            data["usage"] = event.usage.to_json()
        return b"Message", data
    if isinstance(event, StreamInterrupt):
        interrupt = {"event_id": event.event_id, "type": event.type, "data": event.data}
        return b"Interrupt", {"interrupt_data": interrupt, "node_title": event.node_title}
    if isinstance(event, StreamError):
        return b"Error", {"error_code": event.code, "error_message": event.message}
    assert isinstance(event, StreamDone)
    return b"Done", {"debug_url": event.debug_url}
