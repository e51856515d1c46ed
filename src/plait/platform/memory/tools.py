"""The agent's hands on the user's long-term variables: ``read_memory`` and ``write_memory``, bound to every
chat of a bot with enabled variables. Writes reach only the bot's declared keywords, with bounded values, for
the chat's own user."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plait.components.tool import Tool
from plait.platform.bot_config import BotConfig
from plait.platform.errors import InvalidParams
from plait.platform.memory.variables import MAX_VALUE_CHARS, check_value, declared
from plait.schema import ToolSpec
from plait.store import Database
from plait.tools.errors import InvalidArguments

READ = "read_memory"
WRITE = "write_memory"


def _specs(keywords: Mapping[str, str], descriptions: Mapping[str, str]) -> tuple[ToolSpec, ToolSpec]:
    names = sorted(keywords)
    listed = "; ".join(f"{k}: {descriptions[k]}" if descriptions.get(k) else k for k in names)
    read = ToolSpec(
        name=READ,
        description=f"Read what you remember about this user across conversations. Keys: {listed}.",
        parameters={
            "type": "object",
            "properties": {"keys": {"type": "array", "items": {"type": "string", "enum": names}}},
        },
    )
    write = ToolSpec(
        name=WRITE,
        description="Remember something about this user for later conversations, under one of the keys "
        f"{', '.join(names)}; the value replaces what was kept.",
        parameters={
            "type": "object",
            "properties": {
                "key": {"type": "string", "enum": names},
                "value": {"type": "string", "maxLength": MAX_VALUE_CHARS},
            },
            "required": ["key", "value"],
        },
    )
    return read, write


@dataclass(slots=True, kw_only=True)
class _MemoryTool:
    database: Database
    workspace_id: str
    bot_id: str
    user_id: str
    keywords: dict[str, str]  # declared keyword -> default
    spec: ToolSpec = field(default_factory=lambda: ToolSpec(name=""))


class ReadMemory(_MemoryTool):
    async def call(self, arguments: Mapping[str, Any]) -> Any:
        keys = arguments.get("keys") or sorted(self.keywords)
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise InvalidArguments(READ, [("keys", "a list of key names")])
        if unknown := [k for k in keys if k not in self.keywords]:
            raise InvalidArguments(READ, [("keys", f"unknown keys {', '.join(unknown)}")])
        async with self.database.unit_of_work() as uow:
            rows = await uow.user_variables.values(self.workspace_id, self.bot_id, self.user_id, keys)
        stored = {row.keyword: row.value for row in rows}
        return {key: stored.get(key, self.keywords[key]) for key in keys}


class WriteMemory(_MemoryTool):
    async def call(self, arguments: Mapping[str, Any]) -> Any:
        key, value = arguments.get("key"), arguments.get("value")
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidArguments(WRITE, [("key", "a string"), ("value", "a string")])
        try:
            check_value(self.keywords, key, value, "arguments")
        except InvalidParams as exc:
            raise InvalidArguments(WRITE, [("key", exc.msg)]) from None
        async with self.database.unit_of_work() as uow:
            await uow.user_variables.put(self.workspace_id, self.bot_id, self.user_id, {key: value})
        return f"remembered {key}"


def memory_tools(config: BotConfig, database: Database, *, workspace_id: str, bot_id: str, user_id: str) -> list[Tool]:
    """The two tools for a chat of ``user_id``; none when the bot declares no enabled variable."""
    keywords = declared(config)
    if not keywords:
        return []
    read, write = _specs(keywords, {v.keyword: v.description for v in config.variables})
    return [
        kind(database=database, workspace_id=workspace_id, bot_id=bot_id, user_id=user_id, keywords=keywords, spec=spec)
        for kind, spec in ((ReadMemory, read), (WriteMemory, write))
    ]
