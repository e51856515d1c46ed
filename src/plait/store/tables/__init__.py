"""The tables, one module per aggregate; importing this package registers them all on `Base.metadata`."""

from plait.store.base import Base
from plait.store.tables.audit import AuditEvent
from plait.store.tables.bots import Bot, BotVersion
from plait.store.tables.conversations import Chat, Conversation, Message, Section
from plait.store.tables.knowledge import Dataset, DatasetDocument, File
from plait.store.tables.memory import ConversationSummary, UserSession, UserVariable
from plait.store.tables.plugins import Plugin
from plait.store.tables.workers import Worker
from plait.store.tables.workflows import Workflow, WorkflowNodeRun, WorkflowRun, WorkflowVersion
from plait.store.tables.workspaces import ApiKey, ModelConfig, User, Workspace, WorkspaceMember

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "Bot",
    "BotVersion",
    "Chat",
    "Conversation",
    "ConversationSummary",
    "Dataset",
    "DatasetDocument",
    "File",
    "Message",
    "ModelConfig",
    "Plugin",
    "Section",
    "User",
    "UserSession",
    "UserVariable",
    "Worker",
    "Workflow",
    "WorkflowNodeRun",
    "WorkflowRun",
    "WorkflowVersion",
    "Workspace",
    "WorkspaceMember",
]
