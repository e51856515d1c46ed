"""Wire models of the Coze bot endpoints, as cozepy 0.20 sends and validates them (every id a string)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from plait.platform.bots import BotRecord


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


class BotConfig(BaseModel):
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

    def fields(self) -> dict[str, Any]:
        """The given fields as plain JSON; the platform picks the config ones."""
        return self.model_dump(exclude_none=True)


class CreateBotRequest(BotConfig):
    space_id: str
    name: str


class UpdateBotRequest(BotConfig):
    bot_id: str
    knowledge: Knowledge | None = None


class PublishBotRequest(BaseModel):
    bot_id: str
    connector_ids: list[str] = Field(default_factory=lambda: ["1024"])


class UnpublishBotRequest(BaseModel):
    connector_id: str = "1024"
    unpublish_reason: str | None = Field(default=None, max_length=1024)


class PublishedBot(BaseModel):
    bot_id: str
    version: str


def render_bot(record: BotRecord) -> dict[str, Any]:
    """The Coze Bot object. Plugins and workflows are named by id only until those registries exist."""
    config, bot = record.config, record.bot
    model_info = dict(config["model_info"])
    if model_info.get("model_id"):
        model_info.setdefault("model_name", model_info["model_id"].partition("/")[2])
    plugins: dict[str, list[dict[str, str]]] = {}
    for entry in config["plugins"]:
        plugins.setdefault(entry["plugin_id"], []).append({"api_id": entry["api_id"], "name": "", "description": ""})
    for tool in config.get("tools", []):
        plugins.setdefault("client", []).append(
            {"api_id": tool["name"], "name": tool["name"], "description": tool.get("description", "")}
        )
    return {
        "bot_id": bot.id,
        "name": config["name"],
        "description": config["description"],
        "icon_url": "",
        "create_time": bot.created_at,
        "update_time": bot.updated_at,
        "version": record.version or "",
        "bot_mode": 0,
        "prompt_info": config["prompt"] or {"prompt": ""},
        "onboarding_info": config["onboarding"] or OnboardingInfo().model_dump(),
        "knowledge": config["knowledge"] or Knowledge().model_dump(),
        "model_info": model_info or None,
        "suggest_reply_info": config["suggest_reply"] or None,
        "plugin_info_list": [
            {"plugin_id": pid, "name": "", "description": "", "icon_url": "", "api_info_list": apis}
            for pid, apis in plugins.items()
        ],
        "workflow_info_list": [
            {"id": entry["id"], "name": "", "description": "", "icon_url": ""} for entry in config["workflows"]
        ],
        "variables": [
            {**variable, "variable_type": "KVVariable", "channel": "custom", "prompt_enable": True}
            for variable in config.get("variables", [])
        ],
        "tools": config.get("tools", []),
        "owner_user_id": bot.owner_user_id or "",
    }
