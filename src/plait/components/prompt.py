"""The prompt template protocol: variables in, chat messages out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from plait.schema import Message


@runtime_checkable
class PromptTemplate(Protocol):
    """Renders messages from variables; a missing or mistyped variable is an error naming it."""

    async def format(self, variables: Mapping[str, Any]) -> list[Message]: ...
