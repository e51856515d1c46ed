"""The studio's agent shapes: a bot's draft as the editor shows and saves it, built on the typed `BotConfig`
(not the Coze wire blocks), so every field the page edits has one place it is read and written."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from plait.platform import bot_config as typed
from plait.platform.bot_versions import VersionRecord
from plait.platform.bots import BotRecord
from plait.schema import ToolSpec

KEYWORD = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 4000, not silently dropped


class ModelFields(_Strict):
    model_id: str = ""
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    top_p: float | None = Field(default=None, ge=0, le=1)
    context_round: int | None = Field(default=None, ge=0, le=100)


class KnowledgeFields(_Strict):
    dataset_ids: list[str] = Field(default_factory=list, max_length=20)
    auto_call: bool = True
    search_strategy: Literal[0, 1, 20] = 0  # how the knowledge is searched: 0 hybrid, 1 semantic, 20 full text


class PluginFields(_Strict):
    plugin_id: str
    api_id: str


class ClientToolFields(_Strict):
    """A function the page answers itself: a call pauses the turn (requires_action) until it does."""

    name: str = Field(pattern=KEYWORD)
    description: str = Field(default="", max_length=2000)
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class VariableFields(_Strict):
    keyword: str = Field(pattern=KEYWORD)
    default_value: str = ""
    description: str = ""
    enabled: bool = True


class AgentDraft(_Strict):
    """Everything the editor saves at once; the draft's other blocks (tools, routing...) are kept."""

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    persona: str = Field(default="", max_length=100_000)
    model: ModelFields = Field(default_factory=ModelFields)
    knowledge: KnowledgeFields = Field(default_factory=KnowledgeFields)
    plugins: list[PluginFields] = Field(default_factory=list, max_length=50)
    variables: list[VariableFields] = Field(default_factory=list, max_length=50)
    prologue: str = Field(default="", max_length=5000)
    suggested_questions: list[str] = Field(default_factory=list, max_length=10)
    client_tools: list[ClientToolFields] | None = Field(default=None, max_length=50)  # None: kept as they are
    approve_before: list[str] | None = Field(default=None, max_length=64)  # plugin tools that wait for approval
    workflow_ids: list[str] | None = Field(default=None, max_length=20)  # the workspace's workflows; None: kept

    def apply(self, config: typed.BotConfig) -> typed.BotConfig:
        if self.client_tools is not None:
            tools = tuple(
                ToolSpec(name=t.name, description=t.description, parameters=t.parameters) for t in self.client_tools
            )
            config = config.with_changes(tools=tools)
        if self.approve_before is not None:
            config = config.with_changes(approve_before=tuple(dict.fromkeys(self.approve_before)))
        if self.workflow_ids is not None:
            config = config.with_changes(workflow_ids=tuple(dict.fromkeys(self.workflow_ids)))
        return config.with_changes(
            name=self.name.strip(),
            description=self.description,
            persona=self.persona,
            model=replace(config.model, **self.model.model_dump()),  # top_k, response_format kept
            knowledge=typed.KnowledgeSettings(
                dataset_ids=tuple(dict.fromkeys(self.knowledge.dataset_ids)),
                auto_call=self.knowledge.auto_call,
                search_strategy=self.knowledge.search_strategy,
            ),
            plugins=tuple(typed.PluginApi(plugin_id=p.plugin_id, api_id=p.api_id) for p in self.plugins),
            variables=tuple(typed.Variable(**v.model_dump()) for v in self.variables),
            onboarding=typed.Onboarding(
                prologue=self.prologue,
                suggested_questions=tuple(q.strip() for q in self.suggested_questions if q.strip()),
            ),
        )


class NewAgent(_Strict):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    model_id: str | None = None  # None: the server's default model


def config_view(config: typed.BotConfig) -> dict[str, Any]:
    """A configuration in `AgentDraft`'s shape, so what the page reads it can save back unchanged."""
    model = config.model
    return {
        "name": config.name,
        "description": config.description,
        "persona": config.persona,
        "model": {
            "model_id": model.model_id,
            "temperature": model.temperature,
            "max_tokens": model.max_tokens,
            "top_p": model.top_p,
            "context_round": model.context_round,
        },
        "knowledge": {
            "dataset_ids": list(config.knowledge.dataset_ids),
            "auto_call": config.knowledge.auto_call,
            "search_strategy": config.knowledge.search_strategy,
        },
        "plugins": [{"plugin_id": p.plugin_id, "api_id": p.api_id} for p in config.plugins],
        "variables": [
            {"keyword": v.keyword, "default_value": v.default_value, "description": v.description, "enabled": v.enabled}
            for v in config.variables
        ],
        "prologue": config.onboarding.prologue,
        "suggested_questions": list(config.onboarding.suggested_questions),
        "client_tools": [
            {"name": t.name, "description": t.description, "parameters": t.parameters} for t in config.tools
        ],
        "approve_before": list(config.approve_before),
        "workflow_ids": list(config.workflow_ids),
    }


def agent_view(record: BotRecord) -> dict[str, Any]:
    bot = record.bot
    return {
        "id": bot.id,
        "draft": config_view(record.config),
        "published_version": bot.published_version,
        "published_at": bot.published_at,
        "updated_at": bot.updated_at,
    }


def summary_view(record: BotRecord) -> dict[str, Any]:
    bot = record.bot
    return {
        "id": bot.id,
        "name": record.name,
        "description": record.config.description,
        "model_id": record.config.model.model_id,
        "published": bot.published_version is not None,
        "updated_at": bot.updated_at,
    }


def version_view(version: VersionRecord) -> dict[str, Any]:
    return {
        "version": version.version,
        "published_at": version.published_at,
        "online": version.online,
        "name": version.config.name,
        "model_id": version.config.model.model_id,
        "persona": version.config.persona,
    }


def version_config_view(version: VersionRecord) -> dict[str, Any]:
    """One version and its whole config, in the draft's shape (what the page compares)."""
    return version_view(version) | {"connector_ids": list(version.connector_ids), "config": config_view(version.config)}
