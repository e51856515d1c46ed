"""A bot's datasets as its chats use them: searched for every question before the model answers (Coze's
``auto_call``), or offered to the model as a tool it calls when it wants to (``auto_call`` false)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plait.guard.policy import GuardSettings
from plait.platform.bot_config import BotConfig
from plait.platform.chat.guarded import screen_chunks
from plait.platform.chat.recalled import KnowledgeRecalled
from plait.platform.chat_prompt import KNOWLEDGE_SHARE, context_budget, fitting_chunks, knowledge_block
from plait.platform.dataset_indexes import DatasetIndexes
from plait.platform.datasets import search_datasets
from plait.schema import Document, ToolSpec
from plait.store import Database

TOOL = ToolSpec(
    name="search_knowledge",
    description="Search the knowledge bases of this assistant for passages that answer a question.",
    parameters={
        "type": "object",
        "properties": {"query": {"type": "string", "description": "What to look for, in a few words."}},
        "required": ["query"],
    },
)


@dataclass(slots=True, kw_only=True)
class BotKnowledge:
    database: Database
    indexes: DatasetIndexes
    workspace_id: str
    dataset_ids: list[str]
    strategy: int
    auto_call: bool
    max_tokens: int  # what the chunks may take of the model's context
    guard: GuardSettings | None = None  # screens the chunks the tool returns (a finding is counted and logged)
    spec: ToolSpec = field(default_factory=lambda: TOOL)  # as a tool (the Tool protocol)
    given: list[Document] = field(default_factory=list)  # what the tool gave the model, until `take_given`

    @classmethod
    def of(
        cls,
        config: BotConfig,
        workspace_id: str,
        database: Database,
        indexes: DatasetIndexes,
    ) -> BotKnowledge | None:
        """The bot's knowledge, or None when it has no datasets."""
        knowledge = config.knowledge
        if not knowledge.dataset_ids:
            return None
        return cls(
            database=database,
            indexes=indexes,
            workspace_id=workspace_id,
            dataset_ids=list(knowledge.dataset_ids),
            strategy=knowledge.search_strategy,
            auto_call=knowledge.auto_call,
            max_tokens=int(context_budget(config.model) * KNOWLEDGE_SHARE),
            guard=config.guard,
        )

    async def search(self, query: str) -> list[Document]:
        async with self.database.unit_of_work() as uow:
            return await search_datasets(
                uow, self.workspace_id, self.dataset_ids, query, indexes=self.indexes, strategy=self.strategy
            )

    async def call(self, arguments: Mapping[str, Any]) -> Any:
        """The tool: the passages found, numbered with their sources, or a plain "nothing found"."""
        query = arguments.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        found = screen_chunks(self.guard, await self.search(query), [])
        self.given.extend(fitting_chunks(found, self.max_tokens))
        return knowledge_block(found, self.max_tokens) or "No passage of the knowledge bases matches."

    def take_given(self) -> KnowledgeRecalled | None:
        """The chunks the tool gave the model since the last take, as a turn tells them; None when none."""
        given, self.given = self.given, []
        return KnowledgeRecalled(tuple(given), self.strategy) if given else None
