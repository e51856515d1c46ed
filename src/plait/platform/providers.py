"""A workspace's own model providers: API keys (AES-GCM encrypted at rest), base URLs, and OpenAI-compatible
endpoints of its own (vLLM, Ollama, a company gateway), layered over the built-in providers.

A row is one provider: ``name`` is what model ids start with (``openai`` configures the built-in one;
``myvllm`` adds a provider, so bots can use ``myvllm/qwen2.5-7b``), ``provider`` its kind, ``model`` the
comma-separated model names it lists. Bots, chats and ``/openai/v1`` of the workspace all see them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from plait.components import ChatModel
from plait.models.registry import ModelRegistry, ProviderConfig, default_registry
from plait.observability.calls import ObservedModel
from plait.platform import audit, caches
from plait.platform.access import Principal
from plait.platform.errors import Forbidden, InvalidParams, NotFound
from plait.store import Database, UnitOfWork, new_id
from plait.store.crypto import SecretBox, UndecryptableSecret
from plait.store.tables import ModelConfig

log = logging.getLogger(__name__)
KINDS = ("openai_compat", "anthropic", "gemini")
ADMIN_ROLES = frozenset({"owner", "admin"})
CACHE_SECONDS = 5.0  # how long a worker may use a workspace's providers before reading them again


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderChange:
    name: str
    kind: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    models: tuple[str, ...] = ()


def _builtin(name: str) -> ProviderConfig | None:
    return next((p for p in default_registry().providers if p.name == name), None)


def _require_admin(principal: Principal) -> None:
    if principal.role not in ADMIN_ROLES:
        raise Forbidden(f"role {principal.role!r} cannot manage the workspace's model providers")


async def set_provider(uow: UnitOfWork, principal: Principal, box: SecretBox, change: ProviderChange) -> ModelConfig:
    """Add or change a provider; only what ``change`` gives is changed (a new key replaces the old one)."""
    _require_admin(principal)
    if not change.name.replace("-", "_").isidentifier():
        raise InvalidParams(f"name: {change.name!r}: use letters, digits, _ and -")
    builtin = _builtin(change.name)
    row = await uow.model_configs.named(principal.workspace_id, change.name)
    kind = change.kind or (builtin.kind if builtin else row.provider if row else None)
    if builtin is not None and change.kind not in (None, builtin.kind):
        raise InvalidParams(f"kind: {change.name!r} is a built-in {builtin.kind} provider")
    if builtin is not None and builtin.kind in ("local", "scripted"):
        raise InvalidParams(f"name: the {change.name!r} provider runs in-process and takes no configuration")
    if kind not in KINDS:
        raise InvalidParams(f"kind: a new provider needs one of {', '.join(KINDS)}")
    endpoint = _endpoint(change.base_url)
    if change.base_url is not None and endpoint is None:
        raise InvalidParams(f"base_url: {change.base_url!r} is not an http(s) URL")
    if builtin is None and kind == "openai_compat" and not (change.base_url or (row and row.base_url)):
        raise InvalidParams("base_url: an OpenAI-compatible provider of your own needs its URL")
    if row is None:
        row = ModelConfig(id=new_id(), workspace_id=principal.workspace_id, name=change.name, provider=kind, model="")
        uow.add_new(row)
    row.provider = kind
    if change.models:
        row.model = ",".join(change.models)
    if change.base_url is not None:
        row.base_url = change.base_url
    if change.api_key is not None:
        row.encrypted_key = box.encrypt(change.api_key, context=row.id) if change.api_key else None
    await uow.flush()
    key = "unchanged" if change.api_key is None else "set" if change.api_key else "removed"
    facts = {"kind": kind, "models": list(change.models), "endpoint": endpoint, "key": key}
    audit.record(
        uow, audit.Actor.of(principal), "provider.set", principal.workspace_id, ("provider", row.name), **facts
    )
    return row


def _endpoint(base_url: str | None) -> str | None:
    """An http(s) URL's scheme, host and port, what the audit log may show (its user info, path or query may
    hold a key); None for no URL or one that is not a valid http(s) URL."""
    if base_url is None:
        return None
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError:  # a bad IPv6 host or port
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


async def list_providers(uow: UnitOfWork, principal: Principal) -> list[ModelConfig]:
    return await uow.model_configs.all(principal.workspace_id)


async def remove_provider(uow: UnitOfWork, principal: Principal, name: str) -> None:
    _require_admin(principal)
    row = await uow.model_configs.named(principal.workspace_id, name)
    if row is None:
        raise NotFound(f"model provider {name!r} not found")
    await uow.model_configs.delete(principal.workspace_id, row.id)
    actor, target = audit.Actor.of(principal), ("provider", name)
    audit.record(uow, actor, "provider.delete", principal.workspace_id, target, kind=row.provider)


class WorkspaceModels:
    """Chat models as a workspace sees them: the built-in registry when it configured nothing, else a registry
    of its own with its providers applied; read again after ``CACHE_SECONDS``, or at once when a provider of
    the workspace changed (in any process, with Redis: `plait.platform.caches`), rebuilt only when changed."""

    def __init__(self, database: Database, box: SecretBox) -> None:
        self._database = database
        self._box = box
        self._cache: dict[str, tuple[float, tuple[tuple[str, int], ...], ModelRegistry]] = {}
        self._retired: list[ModelRegistry] = []
        self._lock = asyncio.Lock()
        caches.register(self)

    def forget(self, topic: str, key: str) -> None:
        """Expire the workspace's entry; its registry is kept, to compare versions and close it when retired."""
        cached = self._cache.get(key) if topic == "providers" else None
        if cached is not None:
            self._cache[key] = (0.0, cached[1], cached[2])

    async def get(self, workspace_id: str, model_id: str) -> ChatModel:
        """The model, measured (latency, errors, tokens and cost by workspace; a span while tracing is on)."""
        return ObservedModel((await self.registry(workspace_id)).get(model_id), model_id, workspace_id)

    async def registry(self, workspace_id: str) -> ModelRegistry:
        cached = self._cache.get(workspace_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[2]
        async with self._lock:
            cached = self._cache.get(workspace_id)
            if cached is not None and cached[0] > time.monotonic():  # another task read them meanwhile
                return cached[2]
            async with self._database.unit_of_work() as uow:
                rows = await uow.model_configs.all(workspace_id)
            version = tuple((row.id, row.updated_at) for row in rows)
            if cached is not None and cached[1] == version:
                registry = cached[2]
            else:
                registry = self._build(rows) if rows else default_registry()
                if cached is not None and cached[2] is not default_registry():
                    self._retired.append(cached[2])  # calls may still run on it: closed at shutdown
            self._cache[workspace_id] = (time.monotonic() + CACHE_SECONDS, version, registry)
            return registry

    def _build(self, rows: list[ModelConfig]) -> ModelRegistry:
        registry = ModelRegistry()
        for row in rows:
            key = self._key(row)
            models = tuple(m for m in row.model.split(",") if m)
            builtin = _builtin(row.name)
            if builtin is None:
                registry.add_provider(
                    ProviderConfig(name=row.name, kind=row.provider, base_url=row.base_url, api_key=key, models=models)  # type: ignore[arg-type]
                )
                continue
            changes: dict[str, object] = {"models": tuple(dict.fromkeys(builtin.models + models))}
            if key is not None:
                changes["api_key"] = key
            if row.base_url:
                changes["base_url"] = row.base_url
            registry.configure(row.name, **changes)
        return registry

    def _key(self, row: ModelConfig) -> str | None:
        """The provider's API key; None, logged, when it no longer decrypts (the secret key changed): that
        provider then asks for a key, and the workspace's other providers go on working."""
        if not row.encrypted_key:
            return None
        try:
            return self._box.decrypt(row.encrypted_key, context=row.id)
        except UndecryptableSecret:
            log.error(
                "the stored API key of provider %r (workspace %s) does not decrypt with this server's secret key; "
                "set it again with plait providers set",
                row.name,
                row.workspace_id,
            )
            return None

    async def aclose(self) -> None:
        registries = {id(r): r for r in [*self._retired, *(c[2] for c in self._cache.values())]}
        for registry in registries.values():
            if registry is not default_registry():
                await registry.aclose()
