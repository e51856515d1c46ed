"""Wire schemas of the Coze bot endpoints, as cozepy 0.20 sends and validates them (every id a string)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from plait.guard.policy import GuardSettings
from plait.platform import bot_config as typed
from plait.platform.bots import BotRecord
from plait.platform.plugin_bindings import BoundPlugin
from plait.platform.routing import RoutingSettings
from plait.platform.self_check import SelfCheckSettings
from plait.schema import ToolSpec


class PromptInfo(BaseModel):
    prompt: str = ""


class OnboardingInfo(BaseModel):
    prologue: str = ""
    suggested_questions: list[str] = []


class SuggestReplyInfo(BaseModel):
    reply_mode: Literal["disable", "enable", "customized"]
    customized_prompt: str = ""


class ModelInfoConfig(BaseModel):
    model_id: str
    temperature: float | None = None
    max_tokens: int | None = None
    context_round: int | None = None
    top_p: float | None = None
    top_k: int | None = None
    response_format: Literal["text", "markdown", "json"] | None = None


class PluginIdInfo(BaseModel):
    plugin_id: str
    api_id: str


class PluginIdList(BaseModel):
    id_list: list[PluginIdInfo] = []


class WorkflowIdInfo(BaseModel):
    id: str


class WorkflowIdList(BaseModel):
    ids: list[WorkflowIdInfo] = []


class Knowledge(BaseModel):
    dataset_ids: list[str] = []
    auto_call: bool = True
    search_strategy: int = 0


class Variable(BaseModel):
    """A bot variable the persona prompt names as ``{{keyword}}``; chats may set it (``custom_variables``)."""

    keyword: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    default_value: str = ""
    description: str = ""
    enable: bool = True


class ClientTool(BaseModel):
    """A Plait extension: a function the client runs; a call pauses the chat as ``requires_action``."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class RoutingWeights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match: float = 0.6
    model: float = 0.3
    success: float = 0.2
    latency: float = 0.1
    queue: float = 0.1


class RoutingInfo(BaseModel):
    """A Plait extension: the bot routes each turn to one of ``bot_ids`` (see docs/agents.md, Routing)."""

    model_config = ConfigDict(extra="forbid")

    bot_ids: list[str]
    fallback_bot_id: str | None = None
    use_model: bool = False
    threshold: float = 0.2
    weights: RoutingWeights = Field(default_factory=RoutingWeights)

    @model_validator(mode="after")
    def _valid(self) -> RoutingInfo:
        self.typed()  # its ValueError is a 4000 naming the field
        return self

    def typed(self) -> RoutingSettings:
        settings = RoutingSettings.from_json(self.model_dump())
        assert settings is not None
        return settings


class SelfCheckInfo(BaseModel):
    """A Plait extension: check knowledge-grounded answers against their chunks (docs/agents.md, Self-check)."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = 0.5
    on_fail: Literal["retry", "mark"] = "mark"
    sentence_similarity: float = 0.35

    @model_validator(mode="after")
    def _valid(self) -> SelfCheckInfo:
        self.typed()
        return self

    def typed(self) -> SelfCheckSettings:
        return SelfCheckSettings(**self.model_dump())


class GuardInfo(BaseModel):
    """A Plait extension: PII masking of model input and the prompt-injection policy (docs/guard.md)."""

    model_config = ConfigDict(extra="forbid")

    mask_pii_in_model_input: bool = False
    injection_policy: Literal["off", "flag", "block", "wrap"] = "off"

    def typed(self) -> GuardSettings:
        return GuardSettings(**self.model_dump())


class BotFields(BaseModel):
    """The fields create and update share; None means "not given" (update keeps the draft's value)."""

    name: str | None = None
    description: str | None = None
    icon_file_id: str | None = None
    prompt_info: PromptInfo | None = None
    onboarding_info: OnboardingInfo | None = None
    suggest_reply_info: SuggestReplyInfo | None = None
    model_info_config: ModelInfoConfig | None = None
    plugin_id_list: PluginIdList | None = None
    workflow_id_list: WorkflowIdList | None = None
    variables: list[Variable] | None = None
    tools: list[ClientTool] | None = None
    approve_before: list[str] | None = Field(default=None, max_length=64)  # Plait: tools that wait for approval
    routing: RoutingInfo | None = None  # an explicit null turns routing off
    self_check: SelfCheckInfo | None = None  # an explicit null turns the check off
    guard: GuardInfo | None = None  # an explicit null turns the guards off

    def apply(self, config: typed.BotConfig) -> typed.BotConfig:
        """``config`` with the given blocks in place of its own."""
        changes: dict[str, Any] = {}
        for name in ("name", "description", "icon_file_id"):
            if (value := getattr(self, name)) is not None:
                changes[name] = value
        if self.prompt_info is not None:
            changes["persona"] = self.prompt_info.prompt
        if self.onboarding_info is not None:
            info = self.onboarding_info
            changes["onboarding"] = typed.Onboarding(
                prologue=info.prologue, suggested_questions=tuple(info.suggested_questions)
            )
        if self.suggest_reply_info is not None:
            reply = self.suggest_reply_info
            changes["suggest_reply"] = typed.SuggestReply(mode=reply.reply_mode, prompt=reply.customized_prompt)
        if self.model_info_config is not None:
            changes["model"] = typed.ModelSettings(**self.model_info_config.model_dump())
        if self.plugin_id_list is not None:
            changes["plugins"] = tuple(
                typed.PluginApi(plugin_id=p.plugin_id, api_id=p.api_id) for p in self.plugin_id_list.id_list
            )
        if self.approve_before is not None:
            changes["approve_before"] = tuple(dict.fromkeys(self.approve_before))
        if self.workflow_id_list is not None:
            changes["workflow_ids"] = tuple(w.id for w in self.workflow_id_list.ids)
        if self.variables is not None:
            changes["variables"] = tuple(
                typed.Variable(
                    keyword=v.keyword, default_value=v.default_value, description=v.description, enabled=v.enable
                )
                for v in self.variables
            )
        if self.tools is not None:
            changes["tools"] = tuple(
                ToolSpec(name=t.name, description=t.description, parameters=t.parameters) for t in self.tools
            )
        for name in ("routing", "self_check", "guard"):
            if name in self.model_fields_set:
                block = getattr(self, name)
                changes[name] = None if block is None else block.typed()
        return config.with_changes(**changes)


class CreateBotRequest(BotFields):
    space_id: str
    name: str

    def config(self) -> typed.BotConfig:
        return self.apply(typed.BotConfig(name=self.name, model=typed.ModelSettings(model_id="")))


class UpdateBotRequest(BotFields):
    bot_id: str
    knowledge: Knowledge | None = None

    def apply(self, config: typed.BotConfig) -> typed.BotConfig:
        config = super().apply(config)
        if self.knowledge is None:
            return config
        knowledge = typed.KnowledgeSettings(
            dataset_ids=tuple(self.knowledge.dataset_ids),
            search_strategy=self.knowledge.search_strategy,
            auto_call=self.knowledge.auto_call,
        )
        return config.with_changes(knowledge=knowledge)


class PublishBotRequest(BaseModel):
    bot_id: str
    connector_ids: list[str] = Field(default_factory=lambda: ["1024"])


class UnpublishBotRequest(BaseModel):
    connector_id: str = "1024"
    unpublish_reason: str | None = Field(default=None, max_length=1024)


class PublishedBot(BaseModel):
    bot_id: str
    version: str


def render_bot(record: BotRecord, bound: Mapping[str, BoundPlugin] | None = None) -> dict[str, Any]:
    """The Coze Bot object; ``bound`` names the plugins (a plugin missing from it shows by id only). Workflows
    are named by id only until that registry exists."""
    config, bot = record.config, record.bot
    model = config.model
    model_info: dict[str, Any] | None = None
    if model.model_id:
        settings = {name: getattr(model, name) for name in ModelInfoConfig.model_fields}
        model_info = {k: v for k, v in settings.items() if v is not None}
        model_info["model_name"] = model.model_id.partition("/")[2]
    plugins: dict[str, list[dict[str, str]]] = {}
    for api in config.plugins:
        known = (bound or {}).get(api.plugin_id)
        about = known.operations.get(api.api_id, "") if known else ""
        plugins.setdefault(api.plugin_id, []).append({"api_id": api.api_id, "name": api.api_id, "description": about})
    for tool in config.tools:
        plugins.setdefault("client", []).append(
            {"api_id": tool.name, "name": tool.name, "description": tool.description}
        )
    return {
        "bot_id": bot.id,
        "name": config.name,
        "description": config.description,
        "icon_url": "",
        "create_time": bot.created_at,
        "update_time": bot.updated_at,
        "version": record.version or "",
        "bot_mode": 0,
        "prompt_info": {"prompt": config.persona},
        "onboarding_info": {
            "prologue": config.onboarding.prologue,
            "suggested_questions": list(config.onboarding.suggested_questions),
        },
        "knowledge": {
            "dataset_ids": list(config.knowledge.dataset_ids),
            "auto_call": config.knowledge.auto_call,
            "search_strategy": config.knowledge.search_strategy,
        },
        "model_info": model_info,
        "suggest_reply_info": {
            "reply_mode": config.suggest_reply.mode,
            "customized_prompt": config.suggest_reply.prompt,
        },
        "plugin_info_list": [
            {"plugin_id": pid, **_plugin_names(pid, bound), "icon_url": "", "api_info_list": apis}
            for pid, apis in plugins.items()
        ],
        "workflow_info_list": [
            {"id": workflow_id, "name": "", "description": "", "icon_url": ""} for workflow_id in config.workflow_ids
        ],
        "variables": [
            {
                "keyword": v.keyword,
                "default_value": v.default_value,
                "description": v.description,
                "enable": v.enabled,
                "variable_type": "KVVariable",
                "channel": "custom",
                "prompt_enable": True,
            }
            for v in config.variables
        ],
        "tools": [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in config.tools],
        "approve_before": list(config.approve_before),
        "routing": None if config.routing is None else config.routing.to_json(),
        "self_check": None if config.self_check is None else config.self_check.to_json(),
        "guard": None if config.guard is None else config.guard.to_json(),
        "owner_user_id": bot.owner_user_id or "",
    }


def _plugin_names(plugin_id: str, bound: Mapping[str, BoundPlugin] | None) -> dict[str, str]:
    if plugin_id == "client":
        return {"name": "client", "description": "the client's own functions (tools)"}
    known = (bound or {}).get(plugin_id)
    return {"name": known.name, "description": known.description} if known else {"name": "", "description": ""}
