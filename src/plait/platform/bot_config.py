"""A bot's configuration, typed: what its draft holds and a published version freezes, and what every chat of
it runs with. Stored as one JSON column per block (``prompt``, ``model_info``, ``knowledge``...), in the shape
the Coze API gives them, so `BotConfig.from_columns` and `BotConfig.columns` are the one place that shape is
read and written; everything else uses the fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from plait.guard.policy import GuardSettings
from plait.platform.routing import RoutingSettings
from plait.platform.self_check import SelfCheckSettings
from plait.schema import ToolSpec

ReplyMode = Literal["disable", "enable", "customized"]
MODEL_OPTIONS = ("temperature", "max_tokens", "top_p")  # what a chat passes to the model call


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSettings:
    model_id: str
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    top_k: int | None = None
    context_round: int | None = None  # how many rounds of history a chat sends; None: the platform's default
    response_format: str | None = None

    def options(self) -> dict[str, Any]:
        """The model call's options this bot sets."""
        return {name: value for name in MODEL_OPTIONS if (value := getattr(self, name)) is not None}


@dataclass(frozen=True, slots=True, kw_only=True)
class KnowledgeSettings:
    dataset_ids: tuple[str, ...] = ()
    search_strategy: int = 0  # Coze's numbering: 0 hybrid, 1 semantic, 20 full text
    auto_call: bool = True  # search before every answer; False: the model calls a search tool when it wants


@dataclass(frozen=True, slots=True, kw_only=True)
class Variable:
    """A ``{{keyword}}`` of the persona; a chat's ``custom_variables`` override the default."""

    keyword: str
    default_value: str = ""
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class SuggestReply:
    mode: ReplyMode = "disable"
    prompt: str = ""  # the instruction when ``mode`` is customized


@dataclass(frozen=True, slots=True, kw_only=True)
class Onboarding:
    prologue: str = ""
    suggested_questions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginApi:
    plugin_id: str
    api_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BotConfig:
    name: str
    description: str = ""
    icon_file_id: str | None = None
    persona: str = ""
    model: ModelSettings
    knowledge: KnowledgeSettings = field(default_factory=KnowledgeSettings)
    tools: tuple[ToolSpec, ...] = ()  # client-side functions: a call pauses the chat (requires_action)
    variables: tuple[Variable, ...] = ()
    suggest_reply: SuggestReply = field(default_factory=SuggestReply)
    onboarding: Onboarding = field(default_factory=Onboarding)
    plugins: tuple[PluginApi, ...] = ()
    approve_before: tuple[str, ...] = ()  # plugin tools whose calls wait for the caller's approval
    workflow_ids: tuple[str, ...] = ()
    routing: RoutingSettings | None = None  # a router: other bots answer its turns (stored in ``prompt``)
    self_check: SelfCheckSettings | None = None  # check answers against the chunks (stored in ``knowledge``)
    guard: GuardSettings | None = None  # PII masking and injection policy (stored in ``prompt``)

    def with_changes(self, **changes: Any) -> BotConfig:
        return replace(self, **changes)

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> BotConfig:
        """From the stored blocks (a draft's columns, or a published version's snapshot of them)."""
        model = dict(columns.get("model_info") or {})
        knowledge = columns.get("knowledge") or {}
        suggest = columns.get("suggest_reply") or {}
        onboarding = columns.get("onboarding") or {}
        prompt = columns.get("prompt") or {}
        return cls(
            name=columns.get("name") or "",
            description=columns.get("description") or "",
            icon_file_id=columns.get("icon_file_id"),
            persona=prompt.get("prompt", ""),
            model=ModelSettings(
                model_id=model.get("model_id", ""),
                **{name: model.get(name) for name in _MODEL_FIELDS},
            ),
            knowledge=KnowledgeSettings(
                dataset_ids=tuple(knowledge.get("dataset_ids") or ()),
                search_strategy=int(knowledge.get("search_strategy", 0)),
                auto_call=bool(knowledge.get("auto_call", True)),
            ),
            tools=tuple(
                ToolSpec(name=t["name"], description=t.get("description", ""), parameters=t.get("parameters") or {})
                for t in columns.get("tools") or ()
            ),
            variables=tuple(
                Variable(
                    keyword=v["keyword"],
                    default_value=v.get("default_value", ""),
                    description=v.get("description", ""),
                    enabled=v.get("enable", True),
                )
                for v in columns.get("variables") or ()
            ),
            suggest_reply=SuggestReply(
                mode=suggest.get("reply_mode", "disable"), prompt=suggest.get("customized_prompt", "")
            ),
            onboarding=Onboarding(
                prologue=onboarding.get("prologue", ""),
                suggested_questions=tuple(onboarding.get("suggested_questions") or ()),
            ),
            plugins=tuple(
                PluginApi(plugin_id=p["plugin_id"], api_id=p["api_id"]) for p in columns.get("plugins") or ()
            ),
            approve_before=tuple(columns.get("approve_before") or ()),
            workflow_ids=tuple(w["id"] for w in columns.get("workflows") or ()),
            routing=RoutingSettings.from_json(prompt.get("routing")),
            self_check=SelfCheckSettings.from_json(knowledge.get("self_check")),
            guard=GuardSettings.from_json(prompt.get("guard")),
        )

    def columns(self) -> dict[str, Any]:
        """The stored blocks, as `from_columns` reads them."""
        model = {"model_id": self.model.model_id}
        model |= {name: value for name in _MODEL_FIELDS if (value := getattr(self.model, name)) is not None}
        return {
            "name": self.name,
            "description": self.description,
            "icon_file_id": self.icon_file_id,
            "prompt": {"prompt": self.persona}
            | ({"routing": self.routing.to_json()} if self.routing else {})
            | ({"guard": self.guard.to_json()} if self.guard else {}),
            "model_info": model,
            "knowledge": {
                "dataset_ids": list(self.knowledge.dataset_ids),
                "search_strategy": self.knowledge.search_strategy,
                "auto_call": self.knowledge.auto_call,
            }
            | ({"self_check": self.self_check.to_json()} if self.self_check else {}),
            "tools": [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in self.tools],
            "variables": [
                {
                    "keyword": v.keyword,
                    "default_value": v.default_value,
                    "description": v.description,
                    "enable": v.enabled,
                }
                for v in self.variables
            ],
            "suggest_reply": {"reply_mode": self.suggest_reply.mode, "customized_prompt": self.suggest_reply.prompt},
            "onboarding": {
                "prologue": self.onboarding.prologue,
                "suggested_questions": list(self.onboarding.suggested_questions),
            },
            "plugins": [{"plugin_id": p.plugin_id, "api_id": p.api_id} for p in self.plugins],
            "approve_before": list(self.approve_before),
            "workflows": [{"id": workflow_id} for workflow_id in self.workflow_ids],
        }


_MODEL_FIELDS = ("temperature", "max_tokens", "top_p", "top_k", "context_round", "response_format")
