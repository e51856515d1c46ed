"""A workspace's tools as a run's tool nodes call them: a built-in by its name (``calculator``, ``clock``,
``code_runner``, ``http_request``), or an operation of one of the workspace's plugins as ``plugin/operation``,
the plugin named by its name or id. Plugin tools come from the process's ``PluginTools``, so an MCP server
stays connected across runs and chats."""

from __future__ import annotations

from collections.abc import Mapping

from plait.components import Tool
from plait.platform.plugin_tools import PluginTools
from plait.store import Database


class WorkspaceTools:
    """A ``ToolSource`` over one workspace's plugins and the built-ins; None for a name it does not know."""

    def __init__(
        self, database: Database, plugins: PluginTools, workspace_id: str, builtins: Mapping[str, Tool]
    ) -> None:
        self._database = database
        self._plugins = plugins
        self._workspace_id = workspace_id
        self._builtins = builtins

    async def get_tool(self, name: str) -> Tool | None:
        if name in self._builtins:
            return self._builtins[name]
        plugin, slash, operation = name.partition("/")
        if not slash:
            return None
        async with self._database.unit_of_work() as uow:
            if plugin.isdigit():
                row = next(iter(await uow.plugins.among(self._workspace_id, [plugin])), None)
            else:
                row = await uow.plugins.named(self._workspace_id, plugin)
        if row is None:
            return None
        return (await self._plugins.tools_of(row)).get(operation)
