"""The chat model protocol: every provider adapter and the scripted model implement it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol, runtime_checkable

from plait.schema import Message, ToolSpec


@runtime_checkable
class ChatModel(Protocol):
    """Generates an assistant message from a conversation.

    ``stream`` yields message chunks that ``concat`` joins into what ``generate`` returns. ``with_tools``
    returns a new model bound to the tools and leaves this one untouched, so a model can be shared.
    """

    model_id: str

    async def generate(self, messages: Sequence[Message], **options: Any) -> Message: ...

    def stream(self, messages: Sequence[Message], **options: Any) -> AsyncIterator[Message]: ...

    def with_tools(self, tools: Sequence[ToolSpec], *, tool_choice: str = "auto") -> ChatModel: ...
