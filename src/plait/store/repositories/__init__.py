"""Repositories: the queries the platform's use cases need, scoped to a workspace; none of them commits."""

from plait.store.repositories.access import (
    ApiKeyRepository,
    ModelConfigRepository,
    UserRepository,
    WorkspaceRepository,
    hash_token,
)
from plait.store.repositories.audit import AuditQuery, AuditRepository
from plait.store.repositories.base import Page, ScopedRepository
from plait.store.repositories.content import (
    BotRepository,
    BotVersionRepository,
    ChunkRepository,
    DatasetRepository,
    DocumentRepository,
    FileRepository,
)
from plait.store.repositories.conversations import (
    ChatRepository,
    ConversationRepository,
    MessagePage,
    MessageRepository,
    SectionRepository,
)
from plait.store.repositories.memory import SessionRepository, SummaryRepository, UserVariableRepository
from plait.store.repositories.plugins import PluginRepository
from plait.store.repositories.secrets import SecretRepository, StoredSecret
from plait.store.repositories.workers import SlotsExhausted, WorkerRepository
from plait.store.repositories.workflows import (
    WorkflowNodeRunRepository,
    WorkflowRepository,
    WorkflowRunRepository,
    WorkflowVersionRepository,
)

__all__ = [
    "ApiKeyRepository",
    "AuditQuery",
    "AuditRepository",
    "BotRepository",
    "BotVersionRepository",
    "ChatRepository",
    "ChunkRepository",
    "ConversationRepository",
    "DatasetRepository",
    "DocumentRepository",
    "FileRepository",
    "MessagePage",
    "MessageRepository",
    "ModelConfigRepository",
    "Page",
    "PluginRepository",
    "ScopedRepository",
    "SecretRepository",
    "SectionRepository",
    "SessionRepository",
    "SlotsExhausted",
    "StoredSecret",
    "SummaryRepository",
    "UserRepository",
    "UserVariableRepository",
    "WorkerRepository",
    "WorkflowNodeRunRepository",
    "WorkflowRepository",
    "WorkflowRunRepository",
    "WorkflowVersionRepository",
    "WorkspaceRepository",
    "hash_token",
]
