"""Chat messages: the one shape every model, agent and wire protocol converts to and from.

Plain slotted dataclasses, because they sit on the hot path of every graph step; pydantic lives at the
API boundary only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from plait.schema.errors import ToolArgumentsError

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]


@dataclass(slots=True, kw_only=True)
class Usage:
    """Token counts of one model call; ``+`` adds two calls together."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
        )


@dataclass(slots=True, kw_only=True)
class ToolCall:
    """A model's request to run a tool. In a stream, deltas of one call share ``index``."""

    id: str = ""
    name: str = ""
    arguments: str = ""
    index: int | None = None
    type: Literal["function"] = "function"

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; malformed JSON is a ``ToolArgumentsError``, never a crash later."""
        if not self.arguments.strip():
            return {}
        try:
            value = json.loads(self.arguments)
        except json.JSONDecodeError as exc:
            raise ToolArgumentsError(self.name, self.arguments, f"not JSON: {exc.msg}") from exc
        if not isinstance(value, dict):
            raise ToolArgumentsError(self.name, self.arguments, "not a JSON object")
        return value


@dataclass(slots=True, kw_only=True)
class TextPart:
    text: str
    type: Literal["text"] = "text"


@dataclass(slots=True, kw_only=True)
class ImagePart:
    """An image by URL (``http(s):`` or ``data:``) or by a platform file id."""

    url: str = ""
    file_id: str = ""
    detail: Literal["auto", "low", "high"] = "auto"
    type: Literal["image"] = "image"


@dataclass(slots=True, kw_only=True)
class FilePart:
    url: str = ""
    file_id: str = ""
    name: str = ""
    mime_type: str = ""
    type: Literal["file"] = "file"


@dataclass(slots=True, kw_only=True)
class AudioPart:
    url: str = ""
    file_id: str = ""
    format: str = ""
    type: Literal["audio"] = "audio"


ContentPart: TypeAlias = TextPart | ImagePart | FilePart | AudioPart


@dataclass(slots=True, kw_only=True)
class Message:
    """One chat message, or one chunk of a streamed message (chunks concatenate back into a message)."""

    role: Role
    content: str | list[ContentPart] = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    reasoning: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The text of the message, with multi-part content reduced to its text parts."""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))

    @classmethod
    def system(cls, content: str) -> Message:
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str | list[ContentPart]) -> Message:
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, content: str = "", *, tool_calls: list[ToolCall] | None = None) -> Message:
        return cls(role="assistant", content=content, tool_calls=list(tool_calls or ()))

    @classmethod
    def tool(cls, content: str, *, tool_call_id: str, name: str | None = None) -> Message:
        return cls(role="tool", content=content, tool_call_id=tool_call_id, name=name)
