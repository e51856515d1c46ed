"""Model ids to models: ``provider/model`` (``openai/gpt-4o``, ``ollama/qwen2.5``, ``local/gemma3-270m``,
``scripted/echo``), with provider settings, per-provider limits, an optional response cache and fallbacks.

A provider's key comes from its config or from its environment variable (``OPENAI_API_KEY``...); a provider
on a loopback address needs none. Models are built once per id and options and then shared.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import ip_address
from typing import Any, Literal
from urllib.parse import urlsplit

from plait.components import ChatModel
from plait.models.errors import ModelConfigError, UnknownModelError
from plait.models.retry import RetrySettings
from plait.models.wrappers import CachedChatModel, FallbackChatModel, LimitedChatModel, ProviderLimits, ResponseCache

ProviderKind = Literal["openai_compat", "anthropic", "gemini", "local", "scripted"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderConfig:
    name: str
    kind: ProviderKind
    base_url: str | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    default_options: Mapping[str, Any] = field(default_factory=dict)
    max_concurrency: int | None = None
    requests_per_minute: float | None = None
    timeout: float = 60.0
    max_retries: int = 3
    models: tuple[str, ...] = ()


def _openai_style(name: str, base_url: str, env: str | None, *models: str) -> ProviderConfig:
    return ProviderConfig(name=name, kind="openai_compat", base_url=base_url, api_key_env=env, models=models)


BUILTIN_PROVIDERS: tuple[ProviderConfig, ...] = (
    _openai_style("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-4o", "gpt-4o-mini", "gpt-4.1"),
    _openai_style("deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", "deepseek-chat", "deepseek-reasoner"),
    _openai_style(
        "qwen", "https://dashscope.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY", "qwen-plus", "qwen-max"
    ),
    _openai_style("ark", "https://ark.cn-beijing.volces.com/api/v3", "ARK_API_KEY"),
    _openai_style("moonshot", "https://api.moonshot.cn/v1", "MOONSHOT_API_KEY", "moonshot-v1-8k"),
    _openai_style("vllm", "http://127.0.0.1:8000/v1", "VLLM_API_KEY"),
    _openai_style("ollama", "http://127.0.0.1:11434/v1", None, "qwen2.5", "llama3.2"),
    _openai_style("llamacpp", "http://127.0.0.1:8080/v1", None),
    _openai_style("lmstudio", "http://127.0.0.1:1234/v1", None),
    ProviderConfig(
        name="anthropic",
        kind="anthropic",
        base_url="https://api.anthropic.com",
        api_key_env="ANTHROPIC_API_KEY",
        models=("claude-sonnet-4-5", "claude-haiku-4-5"),
    ),
    ProviderConfig(
        name="gemini",
        kind="gemini",
        api_key_env="GEMINI_API_KEY",
        models=("gemini-2.5-flash", "gemini-2.5-pro"),
    ),
    ProviderConfig(name="local", kind="local", max_concurrency=1, models=("gemma3-270m",)),
    ProviderConfig(name="scripted", kind="scripted", models=("echo", "tools", "prompt")),
)


class ModelRegistry:
    """Builds chat models from ids. ``configure`` changes a provider (its key, URL, limits) at start-up."""

    def __init__(
        self,
        providers: Iterable[ProviderConfig] = BUILTIN_PROVIDERS,
        *,
        environ: Mapping[str, str] | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        self._providers = {p.name: p for p in providers}
        self._environ = environ if environ is not None else os.environ
        self._cache = cache
        self._limits: dict[str, ProviderLimits] = {}
        self._models: dict[tuple[str, str], ChatModel] = {}

    @property
    def providers(self) -> list[ProviderConfig]:
        return list(self._providers.values())

    def add_provider(self, config: ProviderConfig) -> None:
        self._providers[config.name] = config
        self._forget(config.name)

    def remove_provider(self, name: str) -> None:
        """Forget a provider and the models built from it (an unknown name is no error)."""
        self._providers.pop(name, None)
        self._forget(name)

    def configure(self, name: str, **changes: Any) -> None:
        """Change fields of a provider, e.g. ``configure("openai", api_key=..., max_concurrency=8)``."""
        if name not in self._providers:
            raise UnknownModelError(f"{name}/*", f"no provider {name!r}; known: {', '.join(self._providers)}")
        self._providers[name] = replace(self._providers[name], **changes)
        self._forget(name)

    def known_models(self) -> list[str]:
        return [f"{p.name}/{m}" for p in self._providers.values() for m in p.models]

    def get(self, model_id: str, **default_options: Any) -> ChatModel:
        """The model for ``provider/model``; the same id and options give the same shared instance."""
        key = (model_id, repr(sorted(default_options.items())))
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = self._build(model_id, default_options)
        return model

    def fallback(self, *model_ids: str) -> ChatModel:
        """A model that tries each id in order while the previous ones fail with provider errors."""
        return FallbackChatModel([self.get(model_id) for model_id in model_ids])

    async def aclose(self) -> None:
        """Close the HTTP clients of every model built so far (at server shutdown)."""
        models, self._models = self._models, {}
        for model in models.values():
            await _close(model)

    def _forget(self, provider: str) -> None:
        self._limits.pop(provider, None)
        self._models = {k: v for k, v in self._models.items() if not k[0].startswith(provider + "/")}

    def _build(self, model_id: str, options: Mapping[str, Any]) -> ChatModel:
        provider_name, _, name = model_id.partition("/")
        if not name:
            raise UnknownModelError(model_id, "model ids look like provider/model, e.g. openai/gpt-4o")
        config = self._providers.get(provider_name)
        if config is None:
            known = ", ".join(sorted(self._providers))
            raise UnknownModelError(model_id, f"unknown provider {provider_name!r}; known providers: {known}")
        merged = {**config.default_options, **options}
        model = _BUILDERS[config.kind](config, name, model_id, merged, self._api_key(config, model_id))
        if self._cache is not None:
            model = CachedChatModel(model, self._cache)
        if config.max_concurrency or config.requests_per_minute:
            limits = self._limits.get(config.name)
            if limits is None:
                limits = self._limits[config.name] = ProviderLimits(
                    max_concurrency=config.max_concurrency, requests_per_minute=config.requests_per_minute
                )
            model = LimitedChatModel(model, limits)
        return model

    def _api_key(self, config: ProviderConfig, model_id: str) -> str | None:
        key = config.api_key or (self._environ.get(config.api_key_env) if config.api_key_env else None)
        needs_key = config.kind in ("anthropic", "gemini") or (
            config.kind == "openai_compat" and not _is_loopback(config.base_url)
        )
        if key is None and needs_key:
            where = f"set {config.api_key_env}" if config.api_key_env else "set an api_key"
            raise ModelConfigError(
                model_id, f"provider {config.name!r} needs an API key: {where} or configure the provider's api_key"
            )
        return key


async def _close(model: Any) -> None:
    """Close a model's HTTP client, looking through wrappers (limits, cache) to reach it."""
    close = getattr(model, "aclose", None)
    if close is not None:
        await close()
    elif (inner := getattr(model, "inner", None)) is not None:
        await _close(inner)


def _is_loopback(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _common(config: ProviderConfig, model_id: str, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "timeout": config.timeout,
        "retry": RetrySettings(max_attempts=config.max_retries),
        "default_options": options,
    }


Builder = Callable[[ProviderConfig, str, str, dict[str, Any], "str | None"], ChatModel]


def _openai_compat(
    config: ProviderConfig, name: str, model_id: str, options: dict[str, Any], key: str | None
) -> ChatModel:
    from plait.models.openai_compat import OpenAICompatChatModel

    if not config.base_url:
        raise ModelConfigError(model_id, f"provider {config.name!r} has no base_url")
    return OpenAICompatChatModel(name, base_url=config.base_url, api_key=key, **_common(config, model_id, options))


def _anthropic(config: ProviderConfig, name: str, model_id: str, options: dict[str, Any], key: str | None) -> ChatModel:
    from plait.models.anthropic import AnthropicChatModel

    return AnthropicChatModel(name, api_key=key, base_url=config.base_url, **_common(config, model_id, options))


def _gemini(config: ProviderConfig, name: str, model_id: str, options: dict[str, Any], key: str | None) -> ChatModel:
    from plait.models.gemini import GeminiChatModel

    return GeminiChatModel(name, api_key=key, base_url=config.base_url, **_common(config, model_id, options))


def _local(config: ProviderConfig, name: str, model_id: str, options: dict[str, Any], key: str | None) -> ChatModel:
    from plait.models.local import LocalChatModel

    path = None if name == "gemma3-270m" else name
    return LocalChatModel(path, model_id=model_id, default_options=options)


def _scripted(config: ProviderConfig, name: str, model_id: str, options: dict[str, Any], key: str | None) -> ChatModel:
    from plait.models.scripted import ScriptedChatModel

    timing = {option: options[option] for option in ("token_delay", "first_token_delay") if option in options}
    if name == "echo":
        return ScriptedChatModel.echo(**timing)
    if name == "tools":
        return ScriptedChatModel.tool_runner(**timing)
    if name == "prompt":
        return ScriptedChatModel.prompt_echo(**timing)
    raise UnknownModelError(
        model_id, "the scripted provider serves scripted/echo, tools and prompt; build other scripts in code"
    )


_BUILDERS: dict[ProviderKind, Builder] = {
    "openai_compat": _openai_compat,
    "anthropic": _anthropic,
    "gemini": _gemini,
    "local": _local,
    "scripted": _scripted,
}


_default: ModelRegistry | None = None


def default_registry() -> ModelRegistry:
    """The process-wide registry over the built-in providers and the environment."""
    global _default
    if _default is None:
        _default = ModelRegistry()
    return _default


def get_model(model_id: str, **default_options: Any) -> ChatModel:
    """``get_model("openai/gpt-4o")``: a model from the process-wide registry."""
    return default_registry().get(model_id, **default_options)
