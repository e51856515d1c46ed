"""What workflow nodes ask of the platform: protocols a run's ``Services`` carries as extras.

The workflow layer may not import the platform (docs/architecture.md), so the nodes that run a bot, read or
write a chatflow's conversation, write to a dataset or load another workflow name what they need here; the
platform registers its implementations with ``Services.with_extra(Port, impl)``. A local run without them fails
the node with ``ServiceMissing``, which says which service is missing. Every call gets the run's ``system``
values (user id, workspace, conversation), since one implementation serves every run of a process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from plait.workflows.dsl import WorkflowDoc


@dataclass(frozen=True, slots=True)
class BotRequest:
    bot_id: str
    message: str
    conversation_id: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BotAnswer:
    text: str
    conversation_id: str | None = None
    usage: Mapping[str, int] = field(default_factory=dict)


class BotRunner(Protocol):
    """Runs a bot of the workspace for one message; ``on_delta`` gets the answer's pieces as they come."""

    async def run_bot(
        self, request: BotRequest, system: Mapping[str, Any], on_delta: Callable[[str], None] | None = None
    ) -> BotAnswer: ...


@dataclass(frozen=True, slots=True)
class ConversationMessage:
    id: str
    role: str
    content: str
    content_type: str = "text"

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "role": self.role, "content": self.content, "content_type": self.content_type}


class Conversations(Protocol):
    """A chatflow's conversation: its latest messages, and adding one."""

    async def recent_messages(
        self, conversation_id: str, limit: int, system: Mapping[str, Any]
    ) -> Sequence[ConversationMessage]:
        """The latest ``limit`` messages, oldest first."""
        ...

    async def add_message(
        self, conversation_id: str, role: str, content: str, system: Mapping[str, Any]
    ) -> ConversationMessage: ...


@dataclass(frozen=True, slots=True)
class WrittenDocument:
    document_id: str
    name: str


class KnowledgeWriter(Protocol):
    """Adds text to a dataset of the workspace as a new document (chunked and indexed by the platform)."""

    async def add_text(self, dataset_id: str, name: str, text: str, system: Mapping[str, Any]) -> WrittenDocument: ...


class WorkflowResolver(Protocol):
    """Finds a workflow document by id (a sub-workflow node's target); None when there is no such workflow."""

    async def get_workflow(
        self, workflow_id: str, version: str | None, system: Mapping[str, Any]
    ) -> WorkflowDoc | None: ...
