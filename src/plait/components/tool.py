"""The tool protocol: what an agent can call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from plait.schema import ToolSpec


@runtime_checkable
class Tool(Protocol):
    """A callable with a spec. ``call`` takes the parsed arguments and returns a JSON-able result."""

    spec: ToolSpec

    async def call(self, arguments: Mapping[str, Any]) -> Any: ...
