"""Messages as plain JSON-able dicts and back: for caches, checkpoints in JSON stores and wire encoders."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from plait.schema.message import AudioPart, ContentPart, FilePart, ImagePart, Message, TextPart, ToolCall, Usage

_PARTS: dict[str, type[ContentPart]] = {"text": TextPart, "image": ImagePart, "file": FilePart, "audio": AudioPart}


def message_to_dict(message: Message) -> dict[str, Any]:
    return asdict(message)


def message_from_dict(data: dict[str, Any]) -> Message:
    """The inverse of ``message_to_dict``; unknown part types and fields are errors, not silent losses."""
    fields = dict(data)
    content = fields.pop("content", "")
    if isinstance(content, list):
        content = [_part(part) for part in content]
    calls = [ToolCall(**call) for call in fields.pop("tool_calls", None) or ()]
    usage = fields.pop("usage", None)
    return Message(
        content=content,
        tool_calls=calls,
        usage=Usage(**usage) if usage is not None else None,
        **fields,
    )


def _part(data: dict[str, Any]) -> ContentPart:
    kind = _PARTS.get(data.get("type", ""))
    if kind is None:
        raise ValueError(f"unknown content part type {data.get('type')!r}")
    return kind(**data)
