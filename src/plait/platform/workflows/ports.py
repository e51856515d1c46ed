"""What a platform run's nodes reach, bound to its workspace and user: the implementations of the workflow
layer's ports (``plait.workflows.ports``) and the tool source of its tool nodes. Each is scoped to the run's
workspace, so a workflow of one workspace never runs a bot, reads a dataset or a conversation, or loads a
workflow or plugin of another: an id of another workspace reads as missing, as it does through the API."""

from __future__ import annotations

from typing import Any

from plait.components import Tool
from plait.platform.access import Principal
from plait.platform.builtin_plugins import BUILTINS
from plait.platform.chat.runner import ChatRunner
from plait.platform.dataset_indexes import DatasetIndexes
from plait.platform.plugin_tools import PluginTools
from plait.platform.workflows.bots import WorkspaceBots
from plait.platform.workflows.conversations import RunConversations
from plait.platform.workflows.knowledge import WorkspaceDatasets
from plait.platform.workflows.plugins import WorkspaceTools
from plait.platform.workflows.resolver import WorkspaceWorkflows
from plait.settings import Settings
from plait.store import Database
from plait.workflows.nodes.base import ToolSource
from plait.workflows.nodes.knowledge_retrieval import DatasetSearch
from plait.workflows.ports import BotRunner, Conversations, KnowledgeWriter, WorkflowResolver


class PlatformPorts:
    """One per process (``Services``). ``chats`` is set once the chat runner exists: it is built after the
    workflow runner, since bots run workflows as tools; until then agent nodes have no ``BotRunner``."""

    def __init__(
        self, database: Database, *, settings: Settings, datasets: DatasetIndexes, plugins: PluginTools
    ) -> None:
        self._database = database
        self._settings = settings
        self._datasets = datasets
        self._plugins = plugins
        self._builtins: dict[str, Tool] = {plugin.name: plugin.make() for plugin in BUILTINS.values()}
        self.chats: ChatRunner | None = None

    def bind(self, workspace_id: str, user_id: str) -> tuple[ToolSource, dict[type[Any], Any]]:
        """A run's tools and extras; its nodes act as ``user_id``, a member of the workspace."""
        principal = Principal(key_id="workflow", user_id=user_id, workspace_id=workspace_id, role="member")
        database = self._database
        datasets = WorkspaceDatasets(database, self._datasets, principal, self._settings)
        extras: dict[type[Any], Any] = {
            DatasetSearch: datasets,
            KnowledgeWriter: datasets,
            Conversations: RunConversations(database, principal),
            WorkflowResolver: WorkspaceWorkflows(database, workspace_id),
        }
        if self.chats is not None:
            extras[BotRunner] = WorkspaceBots(database, self.chats, principal)
        return WorkspaceTools(database, self._plugins, workspace_id, self._builtins), extras
