"""Tools the agent tests give their agents: real ``Tool`` implementations that count, wait, fail and record."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plait.schema import ToolSpec


class Adder:
    spec = ToolSpec(
        name="add",
        description="Add two numbers",
        parameters={"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
    )

    async def call(self, arguments: Mapping[str, Any]) -> Any:
        return {"sum": arguments["a"] + arguments["b"]}


@dataclass
class Sleeper:
    """Sleeps for ``seconds`` from its arguments, recording how many of its calls were in flight at once."""

    spec: ToolSpec = field(default_factory=lambda: ToolSpec(name="sleep", description="Wait a while"))
    running: int = 0
    most: int = 0
    finished: list[str] = field(default_factory=list)
    canceled: int = 0

    async def call(self, arguments: Mapping[str, Any]) -> Any:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(float(arguments["seconds"]))
        except asyncio.CancelledError:
            self.canceled += 1
            raise
        finally:
            self.running -= 1
        self.finished.append(str(arguments["seconds"]))
        return f"slept {arguments['seconds']}"


@dataclass
class Deleter:
    """A tool with consequences: what it deleted stays recorded, so a test sees whether it ran."""

    spec: ToolSpec = field(default_factory=lambda: ToolSpec(name="delete", description="Delete a file"))
    deleted: list[str] = field(default_factory=list)

    async def call(self, arguments: Mapping[str, Any]) -> Any:
        self.deleted.append(str(arguments["path"]))
        return f"deleted {arguments['path']}"


class SlowService:
    """Fails with its own TimeoutError, as a client library whose request timed out does."""

    spec = ToolSpec(name="service", description="Call a remote service")

    async def call(self, arguments: Mapping[str, Any]) -> Any:
        raise TimeoutError("the service did not answer in 2 s")
